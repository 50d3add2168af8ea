// Current state of the components a seed file names (and of the ids it references).
UNWIND $ids AS wanted
MATCH (c:Component {id: wanted})
RETURN c.id AS id, c.type AS type, c.environment AS environment, c.config AS config,
       c.runtime AS runtime, c.config_keys AS config_keys, c.runtime_keys AS runtime_keys
