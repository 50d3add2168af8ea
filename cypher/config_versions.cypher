// Every kept version of a component's config and runtime, newest first.
MATCH (c:Component {id: $id})-[:HAS_VERSION]->(v:ConfigVersion)
WITH v ORDER BY v.version DESC
RETURN collect(v {.*}) AS versions
