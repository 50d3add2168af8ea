// The ids of at most $limit components of type $type, each with its environment, in no order: what a name
// that names nothing is compared with for its near name (app.components.references.NearNames; a reference's
// near name is one in the environment its scope allows), read only on that error path. An index seek
// (component_type); the caller asks for one more than it compares, so a type too large to suggest from
// costs $limit rows and suggests nothing.
MATCH (c:Component {type: $type})
WITH c LIMIT $limit
RETURN collect([c.id, c.environment]) AS ids
