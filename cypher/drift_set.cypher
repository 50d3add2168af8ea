// Stored drift recomputed for components after a types reload ($rows: {id, props} — props sets or,
// with null, removes drift, drift_entries and drifting). Derived data only: config is not touched.
UNWIND $rows AS row
MATCH (c:Component {id: row.id})
SET c += row.props
// use: _orphan_drift(c)
RETURN count(c) AS written
