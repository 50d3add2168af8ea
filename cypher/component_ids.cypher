// Every component id, sorted (what `karma seed --prune` compares a file with).
MATCH (c:Component)
WITH c.id AS id ORDER BY id
RETURN collect(id) AS ids
