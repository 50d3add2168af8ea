// At start: the components an orphan record names whose stored drift kinds do not say `orphan` yet (a
// graph written before the kinds carried it), given the kind as every write of their drift gives it
// (_orphan_drift). Reads the orphan records only: it costs what is orphaned.
MATCH (d:Drift {kind: 'orphan'})
MATCH (c:Component {id: d.component})
WHERE NOT 'orphan' IN coalesce(c.drift, [])
// use: _orphan_drift(c)
RETURN count(c) AS written
