// Change requests, newest first, filtered by status, component and requester (the console's and `karma changes`).
CALL () {
  MATCH (cr:ChangeRequest)
  WHERE ($status IS NULL OR cr.status = $status)
    AND ($component IS NULL OR cr.component_id = $component)
    AND ($requested_by IS NULL OR cr.requested_by = $requested_by)
  RETURN count(cr) AS total
}
CALL () {
  MATCH (cr:ChangeRequest)
  WHERE ($status IS NULL OR cr.status = $status)
    AND ($component IS NULL OR cr.component_id = $component)
    AND ($requested_by IS NULL OR cr.requested_by = $requested_by)
  WITH cr ORDER BY cr.created_at DESC, cr.id DESC SKIP $skip LIMIT $limit
  RETURN collect(cr {.id, .status, .component_id, .component_ids, .requested_by, .created_at, .updated_at, .approved_by,
                     .approver_role, .rollback_of, .note, .log_entry_id, .on_blocked, .request,
                     affected_count: size(coalesce(cr.impact, [])),
                     // the environments of the components it touches that exist (a create's: in .request)
                     existing_environments: COLLECT { MATCH (c:Component)
                                                      WHERE c.id IN coalesce(cr.component_ids, [cr.component_id])
                                                      RETURN DISTINCT c.environment }}) AS items
}
RETURN total, items
