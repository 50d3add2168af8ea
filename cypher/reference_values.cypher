// Components that by-value references may name: for each lookup {type, property, candidates,
// ignore_case}, the components of that type whose property (cfg_<attribute>) is one of the candidates.
// The same block is part of impact.cypher (the change pipeline reads it in its one query); the seed
// loader and the importer read it here.
UNWIND [rv IN $ref_values WHERE coalesce(rv.mode, 'value') = 'value'] AS rv
MATCH (t:Component {type: rv.type})
WITH rv, t, t[rv.property] AS stored
WHERE stored IS :: STRING
  AND (CASE WHEN rv.ignore_case THEN toLower(stored) ELSE stored END) IN rv.candidates
RETURN t.type AS type, rv.property AS property, stored AS value, t.id AS id, t.environment AS environment
