// How many components the graph holds (the bulk import loads only an empty graph).
MATCH (c:Component)
RETURN count(c) AS total
