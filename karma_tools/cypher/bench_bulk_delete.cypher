// Removes components of a generated (bench) world, with their ConfigVersions and every relationship.
UNWIND $ids AS cid
MATCH (c:Component {id: cid})
OPTIONAL MATCH (c)-[:HAS_VERSION]->(v:ConfigVersion)
DETACH DELETE c, v
RETURN count(DISTINCT cid) AS deleted
