// Records the type declarations a service started with, so the next start checks only what changed.
UNWIND $types AS declared
MERGE (t:KarmaType {name: declared.name})
SET t.fingerprint = declared.fingerprint, t.source = declared.source, t.recorded_at = $now
WITH collect(declared.name) AS names
MATCH (gone:KarmaType) WHERE NOT gone.name IN names
DELETE gone
