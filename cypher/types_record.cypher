// Records the type declarations a service started with, so the next start checks only what changed.
// Idempotent: a type whose fingerprint and file are as recorded is left untouched (several workers
// starting at once write nothing twice).
CALL () {
  MATCH (gone:KarmaType)
  WHERE NOT gone.name IN [declared IN $types | declared.name]
  DELETE gone
}
UNWIND $types AS declared
MERGE (t:KarmaType {name: declared.name})
WITH t, declared
WHERE t.fingerprint IS NULL OR t.fingerprint <> declared.fingerprint OR coalesce(t.source, '') <> declared.source
SET t.fingerprint = declared.fingerprint, t.source = declared.source, t.recorded_at = $now
