// The drift view (GET /drift, `karma drift`, the console page): the components whose stored drift is
// non-empty (`drifting`, indexed: the read costs what is in drift, not the graph's size), the
// files an import recorded, refused or gone from the tree (:Drift nodes), and the changes the config store
// has not written to the tree (unwritten). Nothing is recomputed here: drift is written when
// what it concerns changes (docs/drift.md).
CALL () {
  MATCH (c:Component) WHERE c.drifting = true
  WITH c ORDER BY c.id
  RETURN collect(c {.id, .type, .environment, .drift_entries}) AS components
}
CALL () {
  MATCH (d:Drift)
  WITH d ORDER BY d.component, d.field
  // in_graph: a refused create names a component the graph does not hold (an index lookup per record)
  RETURN collect(d {.*, in_graph: EXISTS { MATCH (:Component {id: d.component}) }}) AS refused
}
CALL () {
  // the changes whose config-store write-back has not landed (failed, or retrying on what it names): the tree
  // is behind the graph for the components each wrote (an index seek on the outbox's destination and state:
  // costs what is stuck, not the outbox's history)
  MATCH (o:OutboxEvent) WHERE o.destination = $destination AND o.state IN ['retrying', 'failed']
    AND o.change_id IS NOT NULL
  MATCH (owner)-[:HAS_VERSION]->(v:ConfigVersion {change_id: o.change_id})
  WITH o, v, owner ORDER BY v.component_id, o.created_at
  RETURN collect({component: v.component_id, type: owner.type, environment: owner.environment,
                  in_graph: owner:Component, id: o.id, change_id: o.change_id, state: o.state,
                  last_error: o.last_error}) AS unwritten
}
RETURN components, refused, unwritten
