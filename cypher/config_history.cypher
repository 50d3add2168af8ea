// A component's kept versions from a base on, oldest first (config only, no runtime): what changed its keys
// since someone saw it (app/changes/changed_since.py). The base is the version $version (the one a queued
// change was judged on, a transition's proposal verified on) or, when $change_id is given, the version
// that change wrote (a rollback: what came after the change it undoes). The (component_id, version)
// constraint's index finds them; a deleted component's versions are kept, its last one `deleted: true`.
OPTIONAL MATCH (w:ConfigVersion {change_id: $change_id}) WHERE w.component_id = $id
WITH coalesce(w.version, $version) AS base
MATCH (v:ConfigVersion) WHERE v.component_id = $id AND v.version >= base
WITH v ORDER BY v.version
RETURN collect(v {.version, .config, .cause, .change_id, .created_at, deleted: coalesce(v.deleted, false)}) AS versions
