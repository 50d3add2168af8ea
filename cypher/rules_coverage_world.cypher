// Rule coverage (`karma rules coverage`, GET /rules/coverage): what the graph can present to the rules —
// per component type: how many, in which environments, which config and runtime keys any of them holds
// (the components' own key lists, as the pipeline writes them). Aggregated on the server: one row per type,
// never one per component; components of a type mostly share one key list, so the lists are de-duplicated
// before they are merged (merging one list per component took over 15 s on 100k components).
// The dependency edges between types: rules_coverage_edges.cypher (a second read, each under the timeout).
// How many per environment too: a rule naming an environment can meet only those (the count was the type's).
MATCH (c:Component)
WITH c.type AS type, c.environment AS environment, count(*) AS components,
     collect(DISTINCT coalesce(c.config_keys, [])) AS config_lists,
     collect(DISTINCT coalesce(c.runtime_keys, [])) AS runtime_lists
WITH type, sum(components) AS components, collect(environment) AS environments,
     collect({environment: environment, components: components}) AS by_environment,
     reduce(acc = [], ls IN collect(config_lists) | acc + [l IN ls WHERE NOT l IN acc]) AS config_lists,
     reduce(acc = [], ls IN collect(runtime_lists) | acc + [l IN ls WHERE NOT l IN acc]) AS runtime_lists
RETURN collect({type: type, components: components, environments: environments, by_environment: by_environment,
                config_keys: reduce(acc = [], ks IN config_lists | acc + [k IN ks WHERE NOT k IN acc]),
                runtime_keys: reduce(acc = [], ks IN runtime_lists | acc + [k IN ks WHERE NOT k IN acc])}) AS types
