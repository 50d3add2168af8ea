// Audit entries, newest first, filtered by requester, actor (who did what the entry records: the approver of an
// approval, the canceller of a cancel, the reporter whose runtime report moved a transition, else requested_by — app.audit.entries.actor), status and time range (by component:
// log_list_component.cypher). A page costs what it holds, not the size of the log: the entries are read in
// the audit_entry_timestamp index's order (a range seek, newest first, the time range its bounds) and the
// reading stops after $counted of them match — the page's own and those counted ahead of it
// (app.paging.counted_up_to). `every` is the count store's (no entry read): the total when nothing filters.
// A keyset cursor ($after_at, $after_id: the entry the page follows) bounds the seek at its place.
CALL () {
  MATCH (a:AuditEntry)
  RETURN count(a) AS every
}
CALL () {
  MATCH (a:AuditEntry)
  WHERE a.timestamp >= coalesce($since, datetime('-999999999-01-01T00:00:00Z'))
    AND a.timestamp < coalesce($until, datetime('+999999999-12-31T23:59:59.999999999Z'))
    AND a.timestamp <= coalesce($after_at, datetime('+999999999-12-31T23:59:59.999999999Z'))
    AND ($after_at IS NULL OR a.timestamp < $after_at OR a.id < $after_id)  // after the cursor's entry
    AND ($requested_by IS NULL OR a.requested_by = $requested_by)
    AND ($actor IS NULL OR coalesce(CASE WHEN a.kind = 'approval' THEN a.approved_by END, a.cancelled_by, a.reported_by, a.requested_by) = $actor)
    AND ($status IS NULL OR a.status = $status)
  WITH a ORDER BY a.timestamp DESC, a.id DESC LIMIT $counted
  WITH collect(a) AS found
  RETURN size(found) AS counted, [a IN found[$skip..$skip + $limit] | a {.*}] AS items
}
RETURN every, counted, items
