// Current state of the components a seed file names (and of the ids it references): by id, and — for a
// `<type>/<nickname>` name — every component of that type and nickname, whatever its id (a nickname
// reference names its target so; the caller resolves it in scope).
UNWIND $ids AS wanted
CALL (wanted) {
  MATCH (c:Component {id: wanted})
  RETURN c
  UNION
  WITH wanted WHERE size(split(wanted, '/')) = 2
  MATCH (c:Component {type: split(wanted, '/')[0], nickname: split(wanted, '/')[1]})
  RETURN c
}
WITH DISTINCT c
RETURN c.id AS id, c.type AS type, c.nickname AS nickname, c.environment AS environment, c.config AS config,
       c.runtime AS runtime, c.config_keys AS config_keys, c.runtime_keys AS runtime_keys
