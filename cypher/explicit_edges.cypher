// The explicit (`via: seed`) dependency edges going out of the components $ids.
UNWIND $ids AS wanted
MATCH (a:Component {id: wanted})-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO {via: 'seed'}]->(b:Component)
RETURN collect({source: a.id, target: b.id, kind: toLower(type(r))}) AS edges
