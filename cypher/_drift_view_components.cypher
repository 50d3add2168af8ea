// fragment(c): the drift view's components in drift (c: the read's own selection of them), by id, as the drift report reads them (drift.report: their stored entries) — one shape for the whole view, one environment's and one component's.
WITH c ORDER BY c.id
RETURN collect(c {.id, .type, .environment, .drift_entries}) AS components
