// The drift view of one environment ($environment: GET /drift?environment=, `karma drift --environment`,
// the console page's filter): drift_list's three parts, each read by an index on that environment, so the
// read costs what drifts there, not the drift of every environment. The components in drift there (a seek
// of component_environment_drifting: only drifting components are in it), the files an import recorded
// under `iac/<environment>/` (a range seek of drift_file, as an import reads them: drift_records), and the
// unwritten changes of its components (the outbox's stuck entries: what is unwritten anywhere, a few).
CALL () {
  // the composite index, forced: the planner otherwise may seek every drifting component and filter
  MATCH (c:Component) USING INDEX SEEK c:Component(environment, drifting)
  WHERE c.environment = $environment AND c.drifting = true
  // use: _drift_view_components(c)
}
CALL () {
  MATCH (d:Drift) WHERE d.file STARTS WITH 'iac/' + $environment + '/'
    AND coalesce(d.environment, $environment) = $environment
  // use: _drift_view_records(d)
}
CALL () {
  // use: _unwritten_writebacks()
}
RETURN components, refused, [u IN unwritten WHERE u.environment = $environment] AS unwritten
