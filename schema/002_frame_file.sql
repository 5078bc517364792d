-- schema/002_frame_file.sql — the source file of a frame's line.
--
-- A native function's lines may come from several files (CPython's eval loop is ceval.c with
-- generated_cases.c.h included in its body; inlined helpers are separate frames but their
-- callers' lines interleave with headers), so the file belongs to the frame, next to its
-- line.  Python frames keep '' here: their file is the function's (co_filename).
-- SQLite cannot change a UNIQUE constraint in place: the table is rebuilt, ids kept, and the
-- views that read it are recreated.

DROP VIEW samples;
DROP VIEW stack_frames;

CREATE TABLE frame_v2 (
	id          INTEGER PRIMARY KEY,
	function_id INTEGER NOT NULL REFERENCES function(id),
	line        INTEGER NOT NULL DEFAULT 0,
	address     INTEGER NOT NULL DEFAULT 0,
	file        TEXT NOT NULL DEFAULT '',
	UNIQUE (function_id, line, address, file)
);
INSERT INTO frame_v2 (id, function_id, line, address) SELECT id, function_id, line, address FROM frame;
DROP TABLE frame;
ALTER TABLE frame_v2 RENAME TO frame;

-- Every frame of every stack, depth 0 being the innermost.  file: the frame's source file
-- (Python: the function's).
CREATE VIEW stack_frames AS
WITH RECURSIVE walk(stack_id, depth, node) AS (
	SELECT id, 0, id FROM stack
	UNION ALL
	SELECT walk.stack_id, walk.depth + 1, stack.parent_id
	FROM walk JOIN stack ON stack.id = walk.node
	WHERE stack.parent_id != 0
)
SELECT walk.stack_id, walk.depth, function.kind, function.name AS function,
       CASE WHEN frame.file != '' THEN frame.file ELSE function.file END AS file,
       frame.line, function.module, frame.address
FROM walk
JOIN stack ON stack.id = walk.node
JOIN frame ON frame.id = stack.frame_id
JOIN function ON function.id = frame.function_id;

-- Samples with their process, thread and innermost frame.
CREATE VIEW samples AS
SELECT sample.rowid AS id, sample.profile_id, process.pid, thread.tid, thread.name AS thread,
       sample.time_us, sample.state, sample.weight, sample.stack_id,
       function.name AS function,
       CASE WHEN frame.file != '' THEN frame.file ELSE function.file END AS file, frame.line
FROM sample
JOIN thread ON thread.id = sample.thread_id
JOIN process ON process.id = thread.process_id
LEFT JOIN stack ON stack.id = sample.stack_id
LEFT JOIN frame ON frame.id = stack.frame_id
LEFT JOIN function ON function.id = frame.function_id;
