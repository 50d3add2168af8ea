// The drift view of one component ($component, its id: GET /drift?component=, `karma drift --component`):
// its stored drift when it drifts, the :Drift records naming it (indexed: drift_component), and the
// write-backs of its changes not landed — index lookups on it, so one component's report costs its own
// drift, not the whole report's (cypher/drift_list.cypher read everything and the service filtered).
CALL () {
  // by its id (the planner otherwise seeks every drifting component and filters: what drifts, not one)
  MATCH (c:Component {id: $component}) USING INDEX SEEK c:Component(id)
  WHERE c.drifting = true
  // use: _drift_view_components(c)
}
CALL () {
  MATCH (d:Drift {component: $component})
  // use: _drift_view_records(d)
}
CALL () {
  // use: _unwritten_writebacks()
}
RETURN components, refused, unwritten
