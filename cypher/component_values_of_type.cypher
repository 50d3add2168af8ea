// The values of one attribute ($property: cfg_<attribute>) of at most $limit components of type $type, each
// with its environment, in no order: what a by-value reference's value that matches nothing is compared with
// for its near value (app.components.references.NearNames; only those in the reference's scope), read only
// on that error path. An index seek (component_type) and the LIMIT before anything else: `read` says how many
// components were read, so a type too large to suggest from (the caller asks for one more than it compares)
// costs $limit rows and suggests nothing.
MATCH (c:Component {type: $type})
WITH c LIMIT $limit
WITH collect({value: c[$property], environment: c.environment}) AS stored
RETURN size(stored) AS read, [s IN stored WHERE s.value IS :: STRING] AS values
