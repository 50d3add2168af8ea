// fragment(d): the drift view's :Drift records (d: the read's own selection of them), by component and field; in_graph: a refused create names a component the graph does not hold (an index lookup per record) — one shape for the whole view, one environment's and one component's. resolves: a reference record's `target` (the name the import found no component for) names a component of its environment now — created since, through Karma: the record, written by the import, still says the file is refused, and the view says the reference would resolve (an index seek per such record, by id — forced: after a few writes the planner scanned Component(id) and filtered, what the graph holds: the cost follows what drifts).
WITH d ORDER BY d.component, d.field
RETURN collect(d {.*, in_graph: EXISTS { MATCH (g:Component {id: d.component}) USING INDEX SEEK g:Component(id) },
                  resolves: d.target IS NOT NULL
                            AND EXISTS { MATCH (t:Component {id: d.target}) USING INDEX SEEK t:Component(id)
                                         WHERE t.environment = d.environment }})
       AS refused
