// Change requests of one component, newest first: every request one of whose audit entries touched it
// (FOR) or affected it (AFFECTED), whichever operation of the set it was — through the graph's links
// from the component's node (found by its id: the Component id constraint, the DeletedComponent id
// index), plus requests whose queue place is that id (the change_request_component index). They are
// sorted (their created_at and ids read) and counted; only the page's are projected.
CALL () {
  CALL () {
    MATCH (c:Component {id: $component}) USING INDEX SEEK c:Component(id)
    MATCH (cr:ChangeRequest)-[:LOGGED_AS]->(:AuditEntry)-[:FOR|AFFECTED]->(c)
    RETURN cr
    UNION
    MATCH (c:DeletedComponent {id: $component}) USING INDEX SEEK c:DeletedComponent(id)
    MATCH (cr:ChangeRequest)-[:LOGGED_AS]->(:AuditEntry)-[:FOR|AFFECTED]->(c)
    RETURN cr
    UNION
    MATCH (cr:ChangeRequest) USING INDEX SEEK cr:ChangeRequest(component_id, status)
    WHERE cr.component_id = $component AND cr.status IS NOT NULL  // every request's: the composite index's key
    RETURN cr
  }
  WITH cr
  WHERE ($status IS NULL OR cr.status = $status)
    AND ($requested_by IS NULL OR cr.requested_by = $requested_by)
    AND ($after_at IS NULL OR cr.created_at < $after_at OR (cr.created_at = $after_at AND cr.id < $after_id))
  WITH cr ORDER BY cr.created_at DESC, cr.id DESC
  WITH collect(cr) AS found
  RETURN size(found) AS total,
         [cr IN found[$skip..$skip + $limit] |
          cr {.id, .status, .component_id, .component_ids, .requested_by, .created_at, .updated_at, .approved_by,
              .approver_role, .rollback_of, .note, .log_entry_id, .on_blocked, .request,
              affected_count: size(coalesce(cr.impact, []))}] AS items
}
RETURN total, items
