// fragment(node): keeps node's config and runtime, as they are now, as its ConfigVersion node.version
// (why: $cause — change, runtime, seed, import; creates and deletes write their own — and which change request: $change_id), at $now.
CREATE (node)-[:HAS_VERSION]->(:ConfigVersion {
  component_id: node.id, version: node.version, config: node.config, runtime: node.runtime,
  cause: $cause, change_id: $change_id, created_at: $now})
