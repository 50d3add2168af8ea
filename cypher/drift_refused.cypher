// An import's refused files, in the import's own transaction: the :Drift records of every component id
// the imported tree holds are replaced by this import's (a file that now loads loses its record).
CALL () {
  MATCH (d:Drift) WHERE d.component IN $component_ids
  DELETE d
}
CALL () {
  UNWIND $entries AS e
  CREATE (d:Drift)
  SET d = e
}
RETURN size($entries) AS written
