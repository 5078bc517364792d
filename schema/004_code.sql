-- schema/004_code.sql — the bytecode of Python functions, for the bytecode evidence of
-- `hotloop candidates` (docs/candidates.md).
--
-- Read from the target once, when a code object is first named during recording; the first
-- code object filed for a function row wins (rows are shared by processes and runs).  Files
-- written before this migration have no rows here: their reports say the evidence is absent.
CREATE TABLE function_code (
	function_id  INTEGER PRIMARY KEY REFERENCES function(id),
	python_major INTEGER NOT NULL,  -- the interpreter whose opcodes the bytecode uses
	python_minor INTEGER NOT NULL,
	bytecode     BLOB NOT NULL,     -- co_code (<= 3.10) or co_code_adaptive (3.11+), as read:
	                                -- 3.11+ may hold specialized or instrumented opcodes
	cut          INTEGER NOT NULL,  -- 1: only a prefix (64 KiB) was kept
	names        BLOB NOT NULL,     -- co_names, each followed by a NUL byte
	first_local  TEXT NOT NULL,     -- the name of local slot 0 ('self' in methods), or ''
	linetable    BLOB NOT NULL,     -- co_lnotab (<= 3.9) or co_linetable, for line numbers
	firstlineno  INTEGER NOT NULL   -- co_firstlineno, which the line table is relative to
);
