// Commits one change request — a change set; a single change is a set of one update — in ONE statement,
// inside the caller's write transaction (which already holds the locks of every existing component the
// set touches and read the set's context under them). Also the statement of a stored request's move that
// writes no operation (cancel, deny, expire: empty creates/updates/deletes, $apply false):
//  1. locks every affected component and checks it is still at the version the rules saw — if any
//     moved, nothing is written and `moved` lists them (the caller re-runs the whole analysis);
//  2. when $apply: creates (new Component + ConfigVersion 1), updates (config, cfg_* properties,
//     ConfigVersion, version bump), the edge patch, then deletes: a deleted component loses its label
//     :Component (its id is free again), every dependency edge and its drift (its orphan record, its drift
//     properties: nothing reads them off a :DeletedComponent), and becomes a :DeletedComponent that keeps its
//     last config and runtime, its version history and its audit links (a rollback re-creates it);
//  3. always: ONE AuditEntry (linked to every touched and affected component) and ONE ChangeRequest
//     (created when $new_request, else the stored one moved);
//  4. always: the OutboxEvents reporting it ($outbox, see _outbox_write.cypher), as for a single change —
//     a notification exists exactly when the set committed.
// Any failure rolls all of it back.
CALL () {
  UNWIND $affected_versions AS av
  MATCH (y:Component {id: av.id})
  WITH y, av ORDER BY y.id
  // use: _lock(y)
  WITH y, av WHERE y.version <> av.version
  RETURN collect(y.id) AS moved
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0 AND $apply
  UNWIND $creates AS op
  // an id a deleted component had (a rollback re-creating it) continues that component's version history
  OPTIONAL MATCH (old:ConfigVersion) WHERE old.component_id = op.id AND old.version IS NOT NULL
  WITH op, coalesce(max(old.version), 0) + 1 AS version
  CREATE (c:Component {id: op.id})
  SET c += op.props
  // use: _orphan_drift(c)
  SET c.type = op.type, c.nickname = op.nickname, c.environment = op.environment, c.config = op.config,
      c.config_keys = op.config_keys, c.runtime = '{}', c.runtime_keys = [], c.version = version,
      c.created_at = $now, c.updated_at = $now
  CREATE (c)-[:HAS_VERSION]->(:ConfigVersion {
    component_id: c.id, version: version, config: op.config, runtime: '{}',
    cause: 'create', change_id: $change_id, created_at: $now})
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0 AND $apply
  UNWIND $updates AS op
  MATCH (c:Component {id: op.id})
  SET c += op.props
  // use: _orphan_drift(c)
  SET c.config = op.config, c.config_keys = op.config_keys, c.version = op.version, c.updated_at = $now
  CREATE (c)-[:HAS_VERSION]->(:ConfigVersion {
    component_id: c.id, version: op.version, config: op.config, runtime: c.runtime,
    cause: 'change', change_id: $change_id, created_at: $now})
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0 AND $apply
  UNWIND $edges_remove AS e
  MATCH (:Component {id: e.source})-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO {via: e.via}]->
        (:Component {id: e.target})
  WHERE toLower(type(r)) = e.kind
  DELETE r
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0 AND $apply
  UNWIND $edges_add AS e
  MATCH (s:Component {id: e.source}), (t:Component {id: e.target})
  // use: _merge_edge(s, t, e)
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0
  CREATE (a:AuditEntry)
  SET a = $audit
  WITH a
  // a new request's ChangeRequest is created, never merged into one that exists: two requests given the
  // same id (one identity's Idempotency-Key, racing on components whose locks never meet) cannot both
  // commit — the second fails on the unique id and its re-run replays the first, or says 422
  CALL () {
    WITH 1 AS one WHERE $new_request
    CREATE (:ChangeRequest {id: $change_request.id})
  }
  WITH a
  MATCH (cr:ChangeRequest {id: $change_request.id})
  SET cr += $change_request
  CREATE (cr)-[:LOGGED_AS]->(a)
  WITH a, cr
  CALL (a, cr) {
    UNWIND $touched AS touched_id
    MATCH (c:Component {id: touched_id})
    CREATE (a)-[:FOR]->(c)
    MERGE (cr)-[:TARGETS]->(c)
  }
  CALL (cr) {
    // FIFO per component: a queued set takes its first component's next sequence number.
    UNWIND CASE WHEN $enqueue THEN [$change_request.component_id] ELSE [] END AS head_id
    MATCH (h:Component {id: head_id})
    SET h.queue_seq = coalesce(h.queue_seq, 0) + 1
    SET cr.seq = h.queue_seq
  }
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
  WITH moved WHERE size(moved) = 0 AND $apply
  UNWIND $deletes AS op
  MATCH (c:Component {id: op.id})
  CREATE (c)-[:HAS_VERSION]->(:ConfigVersion {
    component_id: c.id, version: op.version, config: c.config, runtime: c.runtime,
    cause: 'delete', change_id: $change_id, created_at: $now, deleted: true})
  WITH c, op
  CALL (c) {
    MATCH (c)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]-()
    DELETE r
  }
  CALL (c) {
    // its orphan drift (its file gone from an imported tree) ends with it; a refused file's record stays
    MATCH (d:Drift {component: c.id, kind: 'orphan'})
    DELETE d
  }
  // its drift is a component's the graph no longer has: the drift view, the metrics and the rules read
  // :Component only, and a rollback re-creates it from the delete's snapshot (drift recomputed)
  REMOVE c:Component, c.drift, c.drifting, c.drift_entries
  SET c:DeletedComponent, c.version = op.version, c.deleted_at = $now, c.deleted_by_change = $change_id
}
CALL (moved) {
  WITH moved WHERE size(moved) = 0
  // use: _outbox_write()
}
RETURN moved
