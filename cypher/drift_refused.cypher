// An import's refused files, in the import's own transaction: the :Drift records of every file the
// imported tree holds ($files, `iac/<environment>/<type>/<nickname>/config.json`) are replaced by this
// import's (a file that now loads loses its record). Keyed by file, not by component id: an import of
// prod alone must not erase the record of a dev file refused under the same `<type>/<nickname>` id.
// The components whose orphan record ends or begins here get their `orphan` drift kind with it (rules
// read a component's kinds from the node).
CALL () {
  // $component_ids: only an import stored (waiting for an approver) before the records were keyed by file
  MATCH (d:Drift) WHERE d.file IN $files OR d.component IN $component_ids
  WITH d, CASE WHEN d.kind = 'orphan' THEN d.component END AS orphan
  DELETE d
  RETURN collect(orphan) AS ended
}
CALL () {
  UNWIND $entries AS e
  CREATE (d:Drift)
  SET d = e
}
CALL (ended) {
  UNWIND ended + [e IN $entries WHERE e.kind = 'orphan' | e.component] AS id
  WITH DISTINCT id
  MATCH (c:Component {id: id})
  // use: _orphan_drift(c)
}
RETURN size($entries) AS written
