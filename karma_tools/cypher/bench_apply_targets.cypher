// Components the throughput benchmark applies changes to: VPCs of ordinary environments (not the
// probe's, not the big platform ones), whose impacts are disjoint, so concurrent applies rarely wait
// on each other's locks.
MATCH (v:Component {type: 'vpc'})
WHERE v.environment <> $probe_env AND NOT v.environment ENDS WITH '-platform'
WITH v ORDER BY v.id
LIMIT $limit
RETURN v.id AS id
