// fragment(d): the drift view's :Drift records (d: the read's own selection of them), by component and field; in_graph: a refused create names a component the graph does not hold (an index lookup per record) — one shape for the whole view, one environment's and one component's.
WITH d ORDER BY d.component, d.field
RETURN collect(d {.*, in_graph: EXISTS { MATCH (:Component {id: d.component}) }}) AS refused
