-- schema/005_arguments.sql — which objects the arguments of sampled Python functions were:
-- the invariance evidence of `hotloop candidates` (docs/candidates.md, "Invariance").
--
-- While recording, the sampler sends the first local slots (arguments first) of the innermost
-- Python frames of each sample; for methods, the attributes of self that the function's code
-- loads are read too ("self._keys").  Per profile, function and argument: how many samples
-- saw it, how many distinct objects (by address) it held, and in how many runs — stretches of
-- one thread's successive samples in which it held the same object.  An argument that held
-- one of a few objects over many samples and long runs is a specialization key.
CREATE TABLE argument (
	profile_id  INTEGER NOT NULL REFERENCES profile(id),
	function_id INTEGER NOT NULL REFERENCES function(id),
	name        TEXT NOT NULL,     -- 'self', 'x', 'args' as the code names it; 'self.ATTR'
	samples     INTEGER NOT NULL,  -- samples in which it held an object
	runs        INTEGER NOT NULL,  -- runs of one object in a thread's successive samples
	distinct_values INTEGER NOT NULL, -- objects seen (at most 16 are told apart)
	more_values INTEGER NOT NULL,  -- 1: more than 16 objects: distinct_values is a lower bound
	top_samples INTEGER NOT NULL,  -- samples of its most frequent object
	top_type    TEXT NOT NULL,     -- that object's type name ('' when unreadable)
	PRIMARY KEY (profile_id, function_id, name)
) WITHOUT ROWID;
