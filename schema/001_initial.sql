-- schema/001_initial.sql — the hotloop profile store, version 1.
--
-- Applied by the migration runner in schema/store.c, which wraps each file in a transaction
-- and sets PRAGMA user_version to the file's number.  docs/schema.md documents every table,
-- column and view; keep the two in step.

PRAGMA application_id = 1752134764; -- 0x686f746c, "hotl"

-- One recording session (hotloop record) or one daemon run.
CREATE TABLE profile (
	id              INTEGER PRIMARY KEY,
	command         TEXT,              -- command line of the recorded program; NULL if not stored
	target_pids     TEXT NOT NULL,     -- pids given with -p, or the pid hotloop started
	host            TEXT NOT NULL,
	kernel          TEXT NOT NULL,     -- uname -r
	hotloop_version TEXT NOT NULL,
	mode            TEXT NOT NULL,     -- 'python', 'mixed' or 'native'
	event           TEXT NOT NULL,     -- perf event sampled, e.g. 'cpu-clock'
	frequency_hz    INTEGER NOT NULL,
	start_ns        INTEGER NOT NULL,  -- wall clock, ns since the Unix epoch
	end_ns          INTEGER,           -- NULL while recording (or if hotloop was killed)
	samples         INTEGER NOT NULL DEFAULT 0,  -- samples stored
	lost            INTEGER NOT NULL DEFAULT 0,  -- samples the kernel could not hand over
	truncated       INTEGER NOT NULL DEFAULT 0,  -- samples whose stack is incomplete
	exit_status     INTEGER            -- started command: exit code, or 128 + signal
);

-- Named counters per profile: lost and truncated samples by reason, unresolved frames, ...
CREATE TABLE profile_counter (
	profile_id INTEGER NOT NULL REFERENCES profile(id),
	name       TEXT NOT NULL,
	value      INTEGER NOT NULL,
	PRIMARY KEY (profile_id, name)
) WITHOUT ROWID;

CREATE TABLE process (
	id             INTEGER PRIMARY KEY,
	profile_id     INTEGER NOT NULL REFERENCES profile(id),
	pid            INTEGER NOT NULL,
	parent_pid     INTEGER,            -- set when hotloop followed a fork
	executable     TEXT,
	command        TEXT,               -- NULL if not stored
	python_version TEXT,               -- e.g. '3.12.1'; NULL when no interpreter was found
	python_status  TEXT,               -- why Python stacks are missing, NULL when they are not
	start_ns       INTEGER,            -- first seen, ns since the Unix epoch
	end_ns         INTEGER             -- exit seen
);

CREATE TABLE thread (
	id         INTEGER PRIMARY KEY,
	process_id INTEGER NOT NULL REFERENCES process(id),
	tid        INTEGER NOT NULL,
	name       TEXT                    -- Python thread name if known, else the OS name
);

-- A function: a Python code object's (qualname, file, first line), a native symbol in a
-- module, a kernel symbol, or a synthetic marker ("[truncated]").  kind: 1 Python, 2 native,
-- 3 kernel, 4 synthetic.  Absent text is '' and absent numbers 0, so UNIQUE deduplicates.
CREATE TABLE function (
	id     INTEGER PRIMARY KEY,
	kind   INTEGER NOT NULL,
	name   TEXT NOT NULL,
	file   TEXT NOT NULL DEFAULT '',
	line   INTEGER NOT NULL DEFAULT 0,
	module TEXT NOT NULL DEFAULT '',
	UNIQUE (kind, name, file, line, module)
);

-- A place in a function: the line being executed (0 when unknown) and, for native frames, the
-- offset in the module (0 for Python frames).
CREATE TABLE frame (
	id          INTEGER PRIMARY KEY,
	function_id INTEGER NOT NULL REFERENCES function(id),
	line        INTEGER NOT NULL DEFAULT 0,
	address     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (function_id, line, address)
);

-- Stacks as a prefix tree: a row is one frame under its caller's row.  parent_id 0 marks the
-- outermost frame.  A sample points at the row of its innermost frame.
CREATE TABLE stack (
	id        INTEGER PRIMARY KEY,
	parent_id INTEGER NOT NULL,
	frame_id  INTEGER NOT NULL REFERENCES frame(id),
	UNIQUE (parent_id, frame_id)
);

-- One row per sample, kept narrow (no index) so a sample costs about 20 bytes on disk.
-- time_us: µs since profile.start_ns.  state: 0 not a Python thread (or unknown), 1 holds
-- the GIL, 2 Python thread not holding the GIL.  stack_id 0: no frames at all.
CREATE TABLE sample (
	profile_id INTEGER NOT NULL,
	thread_id  INTEGER NOT NULL,
	stack_id   INTEGER NOT NULL,
	time_us    INTEGER NOT NULL,
	state      INTEGER NOT NULL,
	weight     INTEGER NOT NULL DEFAULT 1
);

-- Plain-named views for ad-hoc SQL.

-- Every frame of every stack, depth 0 being the innermost.
CREATE VIEW stack_frames AS
WITH RECURSIVE walk(stack_id, depth, node) AS (
	SELECT id, 0, id FROM stack
	UNION ALL
	SELECT walk.stack_id, walk.depth + 1, stack.parent_id
	FROM walk JOIN stack ON stack.id = walk.node
	WHERE stack.parent_id != 0
)
SELECT walk.stack_id, walk.depth, function.kind, function.name AS function, function.file,
       frame.line, function.module, frame.address
FROM walk
JOIN stack ON stack.id = walk.node
JOIN frame ON frame.id = stack.frame_id
JOIN function ON function.id = frame.function_id;

-- Samples with their process, thread and innermost frame.
CREATE VIEW samples AS
SELECT sample.rowid AS id, sample.profile_id, process.pid, thread.tid, thread.name AS thread,
       sample.time_us, sample.state, sample.weight, sample.stack_id,
       function.name AS function, function.file, frame.line
FROM sample
JOIN thread ON thread.id = sample.thread_id
JOIN process ON process.id = thread.process_id
LEFT JOIN stack ON stack.id = sample.stack_id
LEFT JOIN frame ON frame.id = stack.frame_id
LEFT JOIN function ON function.id = frame.function_id;
