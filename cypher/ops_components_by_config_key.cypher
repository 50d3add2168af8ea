// Operators: every component that sets a top-level config key, with its value (cfg_* properties).
// :param key => 'cloudfront_aliases'
MATCH (c:Component)
WHERE $key IN c.config_keys
RETURN c.id AS component, c.environment AS environment, c['cfg_' + $key] AS value
ORDER BY component
