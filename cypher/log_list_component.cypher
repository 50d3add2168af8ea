// Audit entries of one component, newest first: every entry that touched it (FOR) or affected it
// (AFFECTED) — whichever operation of a change set it was — found from the component's node through the
// graph's links, so the cost follows the component's own history, not the size of the log. The node is
// found by its id (the Component id constraint; the DeletedComponent id index for one deleted since),
// and entries with no node to link to (a refused call naming it) by the audit_entry_component index.
// Its entries are sorted (their timestamps and ids read) and counted; only the page's are projected.
CALL () {
  CALL () {
    MATCH (c:Component {id: $component}) USING INDEX SEEK c:Component(id)
    MATCH (a:AuditEntry)-[:FOR|AFFECTED]->(c)
    RETURN a
    UNION
    MATCH (c:DeletedComponent {id: $component}) USING INDEX SEEK c:DeletedComponent(id)
    MATCH (a:AuditEntry)-[:FOR|AFFECTED]->(c)
    RETURN a
    UNION
    MATCH (a:AuditEntry {component_id: $component}) USING INDEX SEEK a:AuditEntry(component_id)
    RETURN a
  }
  WITH a
  WHERE ($requested_by IS NULL OR a.requested_by = $requested_by)
    AND ($actor IS NULL OR coalesce(CASE WHEN a.kind = 'approval' THEN a.approved_by END, a.cancelled_by, a.reported_by, a.requested_by) = $actor)
    AND ($status IS NULL OR a.status = $status)
    AND ($since IS NULL OR a.timestamp >= $since)
    AND ($until IS NULL OR a.timestamp < $until)
    AND ($after_at IS NULL OR a.timestamp < $after_at OR (a.timestamp = $after_at AND a.id < $after_id))
  WITH a ORDER BY a.timestamp DESC, a.id DESC
  WITH collect(a) AS found
  RETURN size(found) AS total, [a IN found[$skip..$skip + $limit] | a {.*}] AS items
}
RETURN total, items
