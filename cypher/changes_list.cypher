// Change requests, newest first, filtered by status and requester (the console's and `karma changes`; by
// component: changes_list_component.cypher). A page costs what it holds, not the number of requests: they
// are read in the change_request_created_at index's order and the reading stops after $counted of them match
// — the page's own and those counted ahead of it (app.paging.counted_up_to). `every` is the count store's
// (no request read): the total when nothing filters. A keyset cursor ($after_at, $after_id: the request the
// page follows) starts the read at its place in the index.
CALL () {
  MATCH (cr:ChangeRequest)
  RETURN count(cr) AS every
}
CALL () {
  MATCH (cr:ChangeRequest)
  WHERE cr.created_at <= coalesce($after_at, datetime('+999999999-12-31T23:59:59.999999999Z'))
    AND ($after_at IS NULL OR cr.created_at < $after_at OR cr.id < $after_id)  // after the cursor's request
    AND ($status IS NULL OR cr.status = $status)
    AND ($requested_by IS NULL OR cr.requested_by = $requested_by)
  WITH cr ORDER BY cr.created_at DESC, cr.id DESC LIMIT $counted
  WITH collect(cr) AS found
  RETURN size(found) AS counted,
         [cr IN found[$skip..$skip + $limit] |
          cr {.id, .status, .component_id, .component_ids, .requested_by, .created_at, .updated_at, .approved_by,
              .approver_role, .rollback_of, .note, .log_entry_id, .on_blocked, .request,
              affected_count: size(coalesce(cr.impact, [])),
              // the environments of the components it touches that exist (a create's: in .request)
              existing_environments: COLLECT { MATCH (c:Component)
                                               WHERE c.id IN coalesce(cr.component_ids, [cr.component_id])
                                               RETURN DISTINCT c.environment }}] AS items
}
RETURN every, counted, items
