// The answer a change request was first given (`result`, kept for idempotent retries): what a queued change
// stored before it kept `seen_versions` was judged on (the versions in it) — read only for such a one.
MATCH (cr:ChangeRequest {id: $id})
RETURN cr.result AS result
