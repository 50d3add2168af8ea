// A change request read under ITS OWN write lock: two lifecycle moves of the same request (a queue
// pass and a cancel, an approval and a deny) serialise here even when the request's components do
// not exist yet (a change set that creates them). The read is change_get.cypher's, included below.
MATCH (cr:ChangeRequest {id: $id})
// use: _lock(cr)
WITH cr
// include: change_get
