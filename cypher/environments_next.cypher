// The first environment after $after that a component lives in, in order ('' for the first): one seek of
// the component_environment index, which gives them in order (a RANGE index seek, then LIMIT 1). Read one
// after another they are the environments there are, each costing one seek however many components live
// in it — collect(DISTINCT) over the index read every component's entry, on each page that offered them.
MATCH (c:Component)
WHERE c.environment > $after
RETURN c.environment AS environment
ORDER BY c.environment
LIMIT 1
