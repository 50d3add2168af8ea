// Rule coverage (`karma rules coverage`, GET /rules/coverage): what the graph can present to the rules —
// per component type: how many, in which environments, which config (cfg_*) and runtime (rt_*) keys any of
// them holds — and which types the dependency edges link (kind lower-cased, as the rules name it).
// Aggregated on the server: one row per type and per (type, kind, type), never one per component.
CALL {
  MATCH (c:Component)
  WITH c.type AS type, count(c) AS components, collect(DISTINCT c.environment) AS environments,
       collect(keys(c)) AS key_lists
  WITH type, components, environments,
       reduce(acc = [], ks IN key_lists | acc + [k IN ks WHERE (k STARTS WITH 'cfg_' OR k STARTS WITH 'rt_')
                                                  AND NOT k IN acc]) AS flat
  RETURN collect({type: type, components: components, environments: environments,
                  config_keys: [k IN flat WHERE k STARTS WITH 'cfg_' | substring(k, 4)],
                  runtime_keys: [k IN flat WHERE k STARTS WITH 'rt_' | substring(k, 3)]}) AS types
}
CALL {
  MATCH (a:Component)-[r]->(b:Component)
  WITH a.type AS source_type, toLower(type(r)) AS kind, b.type AS target_type, count(*) AS n
  RETURN collect({source_type: source_type, kind: kind, target_type: target_type, n: n}) AS edges
}
RETURN types, edges
