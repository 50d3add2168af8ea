// The drift view (GET /drift, `karma drift`, the console page): the components whose stored drift is
// non-empty (`drifting`, indexed: the read costs what is in drift, not the graph's size), the
// files an import recorded, refused or gone from the tree (:Drift nodes), and the changes the config store
// has not written to the tree (unwritten). Nothing is recomputed here: drift is written when
// what it concerns changes (docs/drift.md).
CALL () {
  MATCH (c:Component) WHERE c.drifting = true
  // use: _drift_view_components(c)
}
CALL () {
  MATCH (d:Drift)
  // use: _drift_view_records(d)
}
CALL () {
  // the changes whose config-store write-back has not landed ($states: failed, or retrying on what it
  // names; $ids null: every component)
  // use: _unwritten_writebacks()
}
RETURN components, refused, unwritten
