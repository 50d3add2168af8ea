// Stored transitions, newest first, filtered by status and requester (by component:
// transitions_list_component.cypher). Read in the transition_created_at index's order only as far as the page
// and the matches counted ahead of it ($counted: app.paging.counted_up_to); `every` is the count store's
// (no transition read): the total when nothing filters — as the log's and the change list's pages.
CALL () {
  MATCH (t:Transition)
  RETURN count(t) AS every
}
CALL () {
  MATCH (t:Transition)
  WHERE t.created_at IS NOT NULL
    AND ($status IS NULL OR t.status = $status)
    AND ($requested_by IS NULL OR t.requested_by = $requested_by)
  WITH t ORDER BY t.created_at DESC, t.id DESC LIMIT $counted
  WITH collect(t) AS found
  RETURN size(found) AS counted, [t IN found[$skip..$skip + $limit] | t {.*}] AS items
}
RETURN every, counted, items
