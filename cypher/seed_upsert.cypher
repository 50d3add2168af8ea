// Creates or updates seeded components. A component whose config, runtime and environment are
// unchanged (compared as JSON values by the loader: comp.changed) is left alone, so loading the
// same file twice yields the same graph.
UNWIND $components AS comp
MERGE (c:Component {id: comp.id})
ON CREATE SET c.version = 0, c.created_at = $now
WITH c, comp, (c.config IS NULL OR comp.changed) AS changed
CALL (c, comp, changed) {
  WITH c, comp WHERE changed
  SET c += comp.props
  // use: _orphan_drift(c)
  // when its runtime was last reported or seeded (kept when only its config or environment changed)
  SET c.runtime_updated_at = CASE WHEN comp.runtime_reported THEN $now ELSE c.runtime_updated_at END
  SET c.type = comp.type, c.nickname = comp.nickname, c.environment = comp.environment,
      c.config = comp.config, c.runtime = comp.runtime, c.config_keys = comp.config_keys,
      c.runtime_keys = comp.runtime_keys, c.version = c.version + 1, c.updated_at = $now
  // use: _config_version(c)
}
RETURN count(CASE WHEN changed THEN 1 END) AS written, count(*) AS seen
