// Audit entries, newest first, filtered by component (the one it is about, any it touched — FOR — or any its
// change reached — AFFECTED), requester, actor (who did what the entry records: the approver of an
// approval, the reporter whose runtime report moved a transition, else requested_by —
// app.audit.entries.actor), status and time range.
CALL () {
  MATCH (a:AuditEntry)
  WHERE ($component IS NULL OR a.component_id = $component
         OR EXISTS { (a)-[:FOR|AFFECTED]->(:Component {id: $component}) })
    AND ($requested_by IS NULL OR a.requested_by = $requested_by)
    AND ($actor IS NULL OR coalesce(CASE WHEN a.kind = 'approval' THEN a.approved_by END, a.reported_by, a.requested_by) = $actor)
    AND ($status IS NULL OR a.status = $status)
    AND ($since IS NULL OR a.timestamp >= $since)
    AND ($until IS NULL OR a.timestamp < $until)
  RETURN count(a) AS total
}
CALL () {
  MATCH (a:AuditEntry)
  WHERE ($component IS NULL OR a.component_id = $component
         OR EXISTS { (a)-[:FOR|AFFECTED]->(:Component {id: $component}) })
    AND ($requested_by IS NULL OR a.requested_by = $requested_by)
    AND ($actor IS NULL OR coalesce(CASE WHEN a.kind = 'approval' THEN a.approved_by END, a.reported_by, a.requested_by) = $actor)
    AND ($status IS NULL OR a.status = $status)
    AND ($since IS NULL OR a.timestamp >= $since)
    AND ($until IS NULL OR a.timestamp < $until)
  WITH a ORDER BY a.timestamp DESC, a.id DESC SKIP $skip LIMIT $limit
  RETURN collect(a {.*}) AS items
}
RETURN total, items
