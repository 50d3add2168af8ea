// Every kept version of a component's config and runtime, newest first — also of a component a change
// set deleted (its versions stay, the last one with cause 'delete' holding its last config and runtime,
// and continue if a rollback re-creates it). The (component_id, version) constraint's index finds them.
MATCH (v:ConfigVersion) WHERE v.component_id = $id AND v.version IS NOT NULL
WITH v ORDER BY v.version DESC
RETURN collect(v {.*}) AS versions
