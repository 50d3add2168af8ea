// Stored transitions of one component, newest first: those one of whose audit entries is FOR it, found from
// the component's node (its id: the Component id constraint) through FOR and RECORDS — the cost of its own
// history, not of every transition (each of which was checked for the component before). All counted; only
// the page's are projected.
CALL () {
  MATCH (:Component {id: $component})<-[:FOR]-(:AuditEntry)-[:RECORDS]->(t:Transition)
  WITH DISTINCT t
  WHERE ($status IS NULL OR t.status = $status)
    AND ($requested_by IS NULL OR t.requested_by = $requested_by)
  WITH t ORDER BY t.created_at DESC, t.id DESC
  WITH collect(t) AS found
  RETURN size(found) AS total, [t IN found[$skip..$skip + $limit] | t {.*}] AS items
}
RETURN total, items
