// One page of the audited change requests whose facts were kept (for `karma rules replay`), oldest first,
// after the cursor ($after_ts, $after_id). Filters are parameters; unset ones match everything.
MATCH (a:AuditEntry)
WHERE a.facts IS NOT NULL
  AND ($component IS NULL OR a.component_id = $component)
  AND ($environment IS NULL OR a.environment = $environment)
  AND ($since IS NULL OR a.timestamp >= $since)
  AND ($until IS NULL OR a.timestamp < $until)
  AND ($after_ts IS NULL OR a.timestamp > $after_ts OR (a.timestamp = $after_ts AND a.id > $after_id))
WITH a ORDER BY a.timestamp, a.id LIMIT $limit
RETURN collect(a {.id, .kind, .timestamp, .component_id, .environment, .requested_by, .status, .decisions,
                  .facts}) AS items, collect(a.timestamp)[-1] AS last_ts
