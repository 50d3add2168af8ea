// Every component id, or those of $environments, sorted (what `--prune` compares a file or a tree with).
MATCH (c:Component)
WHERE $environments IS NULL OR c.environment IN $environments
WITH c.id AS id ORDER BY id
RETURN collect(id) AS ids
