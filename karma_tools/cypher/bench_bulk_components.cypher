// Bulk loading of generated (bench) worlds, one batch per transaction: creates the components of
// $rows that do not exist yet, stored exactly as the seed loader stores them (JSON text + cfg_*/rt_*
// properties + the first ConfigVersion). Components that already exist are left alone.
UNWIND $rows AS comp
MERGE (c:Component {id: comp.id})
ON CREATE SET c.version = 0
WITH c, comp WHERE c.version = 0
SET c += comp.props
SET c.type = comp.type, c.nickname = comp.nickname, c.environment = comp.environment,
    c.config = comp.config, c.runtime = comp.runtime, c.config_keys = comp.config_keys,
    c.runtime_keys = comp.runtime_keys, c.version = 1, c.created_at = $now, c.updated_at = $now
CREATE (c)-[:HAS_VERSION]->(:ConfigVersion {
  component_id: c.id, version: 1, config: comp.config, runtime: comp.runtime,
  cause: 'seed', change_id: null, created_at: $now})
RETURN count(*) AS created
