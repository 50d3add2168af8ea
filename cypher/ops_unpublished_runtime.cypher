// Operators: providers whose consumers are waiting on runtime outputs they have not published yet.
MATCH (consumer:Component)-[r:CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]-(provider:Component)
WHERE provider.runtime = '{}' OR provider.runtime IS NULL
RETURN provider.id AS provider, collect(DISTINCT consumer.id) AS waiting
ORDER BY provider
