// For components $ids: the config-store write-back of the change their config now comes from — the
// component's last version that is not a runtime report (an update, a create, or a delete: a deleted
// component's versions stay on its :DeletedComponent), its change's `config-store` outbox entry
// ($destination) delivered. [{component, change_id, id, event_id, commit, work_tree}]: what an import of a
// git tree checks its history for — the commit the delivery recorded (its receipt), or null (delivered before
// Karma recorded commits, or a write-back that committed nothing): then the import looks for the entry's
// event id trailer in the tree's repository. A config from a seed or a bulk import (no change id), or an
// entry pruned: none.
// Index seeks: each id's versions (config_version_key), each change's entries (outbox_event_change).
UNWIND $ids AS cid
CALL (cid) {
  MATCH (v:ConfigVersion {component_id: cid})
  WHERE v.version IS NOT NULL AND v.cause <> 'runtime'
  RETURN v ORDER BY v.version DESC LIMIT 1
}
WITH cid, v WHERE v.change_id IS NOT NULL
MATCH (o:OutboxEvent {change_id: v.change_id})
WHERE o.destination = $destination AND o.state = 'delivered'
WITH cid, v, o ORDER BY cid, o.commit IS NULL, o.delivered_at DESC
WITH cid, head(collect(o {.id, .event_id, .commit, .work_tree, change_id: v.change_id})) AS o
RETURN collect(o {.*, component: cid}) AS written
