/* daemon/retention.c — see retention.h. */
#include "daemon/retention.h"
#include "common/log.h"
#include "schema/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Deleting windows, then measuring, stops after this many rounds: each deletes a tenth of
 * what is left, so a few dozen rounds reach any size the windows can give back. */
#define MAX_ROUNDS 64

uint64_t hl_store_file_bytes(const char *path)
{
	char wal[4096];
	struct stat st;
	uint64_t total = 0;

	if (!stat(path, &st))
		total += (uint64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (!stat(wal, &st))
		total += (uint64_t)st.st_size;
	return total;
}

static int run(struct hl_store *store, const char *sql, int64_t a, int64_t b, const char *what)
{
	sqlite3 *db = hl_store__db(store);
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return hl_store__sql_error(store, rc, what);
	if (sqlite3_bind_parameter_count(stmt) >= 1)
		sqlite3_bind_int64(stmt, 1, a);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int64(stmt, 2, b);
	do
		rc = sqlite3_step(stmt);
	while (rc == SQLITE_ROW);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : hl_store__sql_error(store, rc, what);
}

/* Deletes up to @limit windows chosen by @where_sql (a condition on window, ?1 bound to
 * @arg), oldest first, with their sample rows, in one transaction. */
static int delete_windows(struct hl_store *store, const char *order_limit_sql, int64_t arg,
			  int64_t limit, uint64_t *deleted)
{
	sqlite3 *db = hl_store__db(store);
	sqlite3_stmt *stmt;
	char sql[512];
	int rc, err;

	snprintf(sql, sizeof(sql),
		 "SELECT id, first_rowid, last_rowid FROM window %s ORDER BY start_ns LIMIT ?2",
		 order_limit_sql);
	err = run(store, "BEGIN IMMEDIATE", 0, 0, "starting retention");
	if (err)
		return err;
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		err = hl_store__sql_error(store, rc, "choosing windows to delete");
		goto out_rollback;
	}
	sqlite3_bind_int64(stmt, 1, arg);
	sqlite3_bind_int64(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);

		err = run(store, "DELETE FROM window_sample WHERE rowid BETWEEN ?1 AND ?2",
			  sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2),
			  "deleting a window's samples");
		if (!err)
			err = run(store, "DELETE FROM window WHERE id = ?1", id, 0,
				  "deleting a window");
		if (err) {
			sqlite3_finalize(stmt);
			goto out_rollback;
		}
		(*deleted)++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		err = hl_store__sql_error(store, rc, "choosing windows to delete");
		goto out_rollback;
	}
	return run(store, "COMMIT", 0, 0, "committing retention");

out_rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* Profiles without windows (all deleted) go, with what only they refer to. */
static int delete_orphans(struct hl_store *store, int64_t keep_profile)
{
	static const char *const steps[] = {
		"CREATE TEMP TABLE IF NOT EXISTS doomed_profile (id INTEGER PRIMARY KEY)",
		"DELETE FROM doomed_profile",
		"INSERT INTO doomed_profile SELECT id FROM profile WHERE id != ?1 AND NOT EXISTS"
		" (SELECT 1 FROM window WHERE window.profile_id = profile.id)",
		"DELETE FROM thread WHERE process_id IN (SELECT process.id FROM process"
		" JOIN doomed_profile ON doomed_profile.id = process.profile_id)",
		"DELETE FROM process WHERE profile_id IN (SELECT id FROM doomed_profile)",
		"DELETE FROM profile_counter WHERE profile_id IN (SELECT id FROM doomed_profile)",
		"DELETE FROM profile WHERE id IN (SELECT id FROM doomed_profile)",
	};
	size_t i;
	int err = run(store, "BEGIN IMMEDIATE", 0, 0, "starting retention");

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && !err; i++)
		err = run(store, steps[i], keep_profile, 0, "deleting unreferenced profiles");
	if (err) {
		sqlite3_exec(hl_store__db(store), "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	return run(store, "COMMIT", 0, 0, "committing retention");
}

/* Gives freed pages back to the file system and folds the WAL into the file.  A checkpoint
 * that readers hold back is not an error: the next one catches up. */
static int compact(struct hl_store *store)
{
	int err = run(store, "PRAGMA incremental_vacuum", 0, 0, "vacuuming");

	if (err)
		return err;
	sqlite3_wal_checkpoint_v2(hl_store__db(store), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
				  NULL);
	return 0;
}

static int64_t count_windows(struct hl_store *store)
{
	sqlite3_stmt *stmt;
	int64_t n = -1;

	if (sqlite3_prepare_v2(hl_store__db(store), "SELECT count(*) FROM window", -1, &stmt,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

int hl_retention_enforce(struct hl_store *store, int64_t keep_profile, uint64_t now_ns,
			 uint64_t max_age_ns, uint64_t max_bytes, struct hl_retention_result *out)
{
	const char *path = hl_store__path(store);
	uint64_t before = 0;
	int err, round;

	memset(out, 0, sizeof(*out));
	err = hl_store__commit(store);
	if (err)
		return err;
	if (max_age_ns && now_ns > max_age_ns) {
		before = out->windows_deleted;
		err = delete_windows(store, "WHERE end_ns < ?1", (int64_t)(now_ns - max_age_ns),
				     INT64_MAX, &out->windows_deleted);
		if (err)
			return err;
	}
	if (out->windows_deleted > before) {
		err = delete_orphans(store, keep_profile);
		if (!err)
			err = compact(store);
		if (err)
			return err;
	}
	out->bytes = hl_store_file_bytes(path);
	for (round = 0; max_bytes && out->bytes > max_bytes && round < MAX_ROUNDS; round++) {
		int64_t left = count_windows(store);

		if (left <= 0) {
			/* Also when counting failed: nothing more to try now. */
			compact(store);
			out->bytes = hl_store_file_bytes(path);
			out->over_limit = out->bytes > max_bytes;
			break;
		}
		/* ?1 is unused here; the condition keeps one statement shape. */
		err = delete_windows(store, "WHERE ?1 = ?1", 0, left / 10 ? left / 10 : 1,
				     &out->windows_deleted);
		if (!err)
			err = delete_orphans(store, keep_profile);
		if (!err)
			err = compact(store);
		if (err)
			return err;
		out->bytes = hl_store_file_bytes(path);
	}
	if (max_bytes && out->bytes > max_bytes)
		out->over_limit = true;
	return 0;
}
