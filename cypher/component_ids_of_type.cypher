// The ids of at most $limit components of type $type, in no order: what a name that names nothing is
// compared with for its near name (app.components.references.NearNames), read only on that error path.
// An index seek (component_type); the caller asks for one more than it compares, so a type too large to
// suggest from costs $limit rows and suggests nothing.
MATCH (c:Component {type: $type})
WITH c.id AS id LIMIT $limit
RETURN collect(id) AS ids
