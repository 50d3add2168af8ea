// What guards a load of a config source (`karma import` of a tree, `karma seed` of a file) for components
// $ids, in ONE read: the Karma changes it must not undo.
// unwritten: the changes to them the config store has not written to the tree yet (their `config-store`
// outbox entry pending, retrying or failed: $states), oldest first — the tree is behind the graph there.
// Runtime reports (no change id) are left out: a load never writes runtime.
// written: for each component, the config-store write-back of the change its config now comes from — the
// component's last version that is not a runtime report (an update, a create, or a delete: a deleted
// component's versions stay on its :DeletedComponent), its change's entry ($destination), a delivered one
// first — {component, change_id, id, state, event_id, commit, work_tree, before, after}: the commit the delivery
// recorded (its receipt), or null (delivered before Karma recorded commits, or a write-back that committed
// nothing: then the entry's event id trailer is looked for in git); `before`/`after` the config (JSON text)
// before that change (null: none, a create) and after it — what a seed compares its file with. A config
// from a seed or a bulk import (no change id): none.
// graph_only: the same for each component whose change has no such entry (the config store off, or its
// entry pruned) — {component, change_id, load, before, after}, `load` true when a load of a config source
// (`karma seed`, `karma import`: the set's `via` is cli) made it: its source says it; otherwise the graph
// is the only record of it (an API, console or `karma request` change, a rollback). The change's
// ChangeRequest by its unique id, its audit entries by LOGGED_AS.
// Index seeks: the outbox's destination and state; each id's versions (config_version_key), each change's
// entries (outbox_event_change).
CALL () {
  // use: _unwritten_writebacks()
}
CALL () {
  UNWIND $ids AS cid
  CALL (cid) {
    MATCH (v:ConfigVersion {component_id: cid})
    WHERE v.version IS NOT NULL AND v.cause <> 'runtime'
    RETURN v ORDER BY v.version DESC LIMIT 1
  }
  WITH cid, v WHERE v.change_id IS NOT NULL
  OPTIONAL MATCH (o:OutboxEvent {change_id: v.change_id})
  WHERE o.destination = $destination
  WITH cid, v, o ORDER BY cid, o.state <> 'delivered', o.commit IS NULL, o.delivered_at DESC
  WITH cid, v, head(collect(o {.id, .state, .event_id, .commit, .work_tree, change_id: v.change_id})) AS o
  OPTIONAL MATCH (p:ConfigVersion {component_id: cid, version: v.version - 1})
  OPTIONAL MATCH (:ChangeRequest {id: v.change_id})-[:LOGGED_AS]->(a:AuditEntry)
  WITH cid, v, o, p, head(collect(a.via)) AS via
  RETURN collect(CASE WHEN o IS NOT NULL THEN o {.*, component: cid, before: p.config, after: v.config} END)
           AS written,
         collect(CASE WHEN o IS NULL THEN {component: cid, change_id: v.change_id, load: coalesce(via = 'cli', false),
                                           before: p.config, after: v.config} END) AS graph_only
}
RETURN unwritten, written, graph_only
