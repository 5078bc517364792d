-- schema/003_daemon.sql — what the daemon needs: service labels on processes, and windows.
--
-- `hotloop daemon` aggregates samples per time window and per (thread, stack, state): one
-- sample row per distinct triple, its weight the count, its time_us the window's start.  A
-- window's rows and its window row are written in one transaction, so a window is either
-- wholly in the file or not at all.  Its rows are consecutive rowids of `sample`
-- (first_rowid..last_rowid), so retention deletes a window without an index on sample.

-- The service a process belongs to: its systemd unit (e.g. 'api.service'), else its
-- container id (short form), else its executable's base name.  container: the full
-- container id when the cgroup names one.  cgroup: the process's cgroup v2 path.
ALTER TABLE process ADD COLUMN service TEXT;
ALTER TABLE process ADD COLUMN container TEXT;
ALTER TABLE process ADD COLUMN cgroup TEXT;

CREATE TABLE window (
	id          INTEGER PRIMARY KEY,
	profile_id  INTEGER NOT NULL REFERENCES profile(id),
	start_ns    INTEGER NOT NULL,  -- wall clock, ns since the Unix epoch
	time_us     INTEGER NOT NULL,  -- the time_us of its sample rows (µs since profile start)
	end_ns      INTEGER NOT NULL,
	samples     INTEGER NOT NULL,  -- sum of the weights of its sample rows
	lost        INTEGER NOT NULL,  -- samples the kernel dropped during the window
	frequency_hz INTEGER NOT NULL, -- sampling rate at its end (the CPU budget may lower it)
	first_rowid INTEGER NOT NULL,  -- its sample rows: rowid first_rowid..last_rowid
	last_rowid  INTEGER NOT NULL   -- (last < first: a window without samples)
);
CREATE INDEX window_by_start ON window (start_ns);
