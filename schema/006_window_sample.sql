-- schema/006_window_sample.sql — the daemon's aggregated rows get a table of their own.
--
-- A window's rows all had the window's profile and time, which the window row already holds:
-- a row took 19.1 bytes with them, 13.0 without (bench/daemon_bench.py).  window_sample keeps
-- only what differs per row.  A window's rows are consecutive rowids of window_sample
-- (window.first_rowid..last_rowid); `sample` keeps one row per sample of `hotloop record`.

CREATE TABLE window_sample (
	thread_id INTEGER NOT NULL,
	stack_id  INTEGER NOT NULL,
	state     INTEGER NOT NULL,
	weight    INTEGER NOT NULL
);

-- Windows written before this version keep their rowids, so their ranges stay right.
INSERT INTO window_sample (rowid, thread_id, stack_id, state, weight)
SELECT sample.rowid, sample.thread_id, sample.stack_id, sample.state, sample.weight
FROM window JOIN sample ON sample.rowid BETWEEN window.first_rowid AND window.last_rowid;
DELETE FROM sample WHERE rowid IN (SELECT rowid FROM window_sample);

-- Every sample, windowed or not, with its time.
CREATE VIEW all_samples AS
SELECT rowid AS id, profile_id, thread_id, stack_id, time_us, state, weight FROM sample
UNION ALL
SELECT -window_sample.rowid, window.profile_id, window_sample.thread_id, window_sample.stack_id,
       window.time_us, window_sample.state, window_sample.weight
FROM window JOIN window_sample
	ON window_sample.rowid BETWEEN window.first_rowid AND window.last_rowid;

-- Samples with their process, thread and innermost frame: now the daemon's too.
DROP VIEW samples;
CREATE VIEW samples AS
SELECT s.id, s.profile_id, process.pid, thread.tid, thread.name AS thread,
       s.time_us, s.state, s.weight, s.stack_id,
       function.name AS function,
       CASE WHEN frame.file != '' THEN frame.file ELSE function.file END AS file, frame.line
FROM all_samples AS s
JOIN thread ON thread.id = s.thread_id
JOIN process ON process.id = thread.process_id
LEFT JOIN stack ON stack.id = s.stack_id
LEFT JOIN frame ON frame.id = stack.frame_id
LEFT JOIN function ON function.id = frame.function_id;
