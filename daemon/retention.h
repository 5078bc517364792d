/* daemon/retention.h — keeping the daemon's store within its age and size limits.
 *
 * Deletes whole windows, oldest first (a window's sample rows are a rowid range, see
 * schema/003_daemon.sql), then the profiles, processes and threads no window refers to any
 * more, gives the freed pages back (incremental vacuum, WAL checkpoint) and measures the file
 * again.  Functions, frames and stacks are kept: the running session's caches hold their
 * ids, and they are shared by every window.  Runs on the writer's connection between two
 * windows; readers (hotloop report) see either the old or the new state.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct hl_store;

struct hl_retention_result {
	uint64_t windows_deleted;
	uint64_t bytes;	    /* the file and its WAL afterwards */
	bool over_limit;    /* still above the size limit with no window left to delete */
};

/* The bytes @path occupies with its -wal file. */
uint64_t hl_store_file_bytes(const char *path);

/* Deletes windows that ended before @now_ns - @max_age_ns (0: no age limit), then the oldest
 * windows while the file is larger than @max_bytes (0: no limit).  The profile @keep_profile
 * (the running one) keeps its row even when it has no window left.  Commits what it does.
 * Returns 0 or -errno (the store's error convention). */
int hl_retention_enforce(struct hl_store *store, int64_t keep_profile, uint64_t now_ns,
			 uint64_t max_age_ns, uint64_t max_bytes, struct hl_retention_result *out);
