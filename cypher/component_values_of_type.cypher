// The values of one attribute ($property: cfg_<attribute>) of at most $limit components of type $type, in
// no order: what a by-value reference's value that matches nothing is compared with for its near value
// (app.components.references.NearNames), read only on that error path. An index seek (component_type) and
// the LIMIT before anything else: `read` says how many components were read, so a type too large to
// suggest from (the caller asks for one more than it compares) costs $limit rows and suggests nothing.
MATCH (c:Component {type: $type})
WITH c LIMIT $limit
WITH collect(c[$property]) AS stored
RETURN size(stored) AS read, [v IN stored WHERE v IS :: STRING] AS values
