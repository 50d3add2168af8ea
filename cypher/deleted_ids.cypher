// Which of $ids a change deleted: their ConfigVersion history outlives them (the last one `cause: delete`),
// so a load that creates one again continues it through the gate (app.changes.seed_sets, app.importing)
// instead of writing a first version over it. One index seek per id (config_version_key).
UNWIND $ids AS cid
OPTIONAL MATCH (v:ConfigVersion {component_id: cid}) WHERE v.cause = 'delete'
WITH cid, count(v) AS deletes WHERE deletes > 0
RETURN collect(cid) AS ids
