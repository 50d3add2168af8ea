// fragment(x): x's own outgoing edges (`outgoing`: the references it has now) and who names x by an attribute a change touches (`referrers`).
CALL (x) {
  OPTIONAL MATCH (x)-[o:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(t:Component)
  RETURN collect(CASE WHEN t IS NULL THEN NULL
                 ELSE {target: t.id, kind: toLower(type(o)), via: o.via} END) AS outgoing
}
CALL (x) {
  UNWIND [rv IN $ref_values WHERE rv.mode = 'referrer'] AS rv
  MATCH (s:Component {type: rv.source_type})-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(x)
  WHERE r.via = rv.via
  RETURN collect({source: s.id, source_type: s.type, via: r.via, value: s[rv.property]}) AS referrers
}
