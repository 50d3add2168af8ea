// Commits one change request in ONE statement, inside the caller's write transaction (which already
// holds the component's lock and read the impact):
//  1. locks every affected component and checks it is still at the version the rules saw — if any
//     moved, nothing is written and `moved` lists them (the caller re-runs the whole pipeline);
//  2. when $apply: the new config (+ queryable cfg_* properties), a ConfigVersion, the edge patch, the
//     version bump;
//  3. always: the AuditEntry (linked to the component, every affected component and the ChangeRequest)
//     and the ChangeRequest itself (created, or moved to its next status when it already exists);
//  4. always: the OutboxEvents reporting it ($outbox, see _outbox_write.cypher) — so a notification
//     exists exactly when the change committed.
// Any failure rolls all of it back.
MATCH (c:Component {id: $id})
CALL () {
  UNWIND $affected_versions AS av
  MATCH (y:Component {id: av.id})
  // use: _lock(y)
  WITH y, av WHERE y.version <> av.version
  RETURN collect(y.id) AS moved
}
CALL (c, moved) {
  WITH c WHERE size(moved) = 0 AND $apply
  SET c += $props
  SET c.config = $config, c.config_keys = $config_keys, c.version = $version, c.updated_at = $now
  // use: _config_version(c)
  WITH c
  CALL (c) {
    UNWIND $edges_remove AS e
    MATCH (c)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO {via: e.via}]->(:Component {id: e.target})
    WHERE toLower(type(r)) = e.kind
    DELETE r
  }
  CALL (c) {
    UNWIND $edges_add AS e
    MATCH (t:Component {id: e.target})
    // use: _merge_edge(c, t, e)
  }
}
CALL (c, moved) {
  WITH c WHERE size(moved) = 0
  CREATE (a:AuditEntry)
  SET a = $audit
  CREATE (a)-[:FOR]->(c)
  MERGE (cr:ChangeRequest {id: $change_request.id})
  SET cr += $change_request
  // FIFO per component: a queued request takes the component's next sequence number.
  FOREACH (_ IN CASE WHEN $enqueue THEN [1] ELSE [] END |
    SET c.queue_seq = coalesce(c.queue_seq, 0) + 1
    SET cr.seq = c.queue_seq)
  MERGE (cr)-[:TARGETS]->(c)
  CREATE (cr)-[:LOGGED_AS]->(a)
  WITH a, cr
  CALL (cr) {
    OPTIONAL MATCH (cr)-[w:WAITS_ON]->()
    DELETE w
  }
  CALL (cr) {
    UNWIND $waits_on AS waited_id
    MATCH (w:Component {id: waited_id})
    MERGE (cr)-[:WAITS_ON]->(w)
  }
  CALL (cr) {
    UNWIND CASE WHEN $rollback_of IS NULL THEN [] ELSE [$rollback_of] END AS original_id
    MATCH (original:ChangeRequest {id: original_id})
    MERGE (cr)-[:ROLLS_BACK]->(original)
  }
  CALL (a) {
    UNWIND $affected AS affected_id
    MATCH (y:Component {id: affected_id})
    CREATE (a)-[:AFFECTED]->(y)
  }
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0
  // use: _outbox_write()
}
RETURN moved
