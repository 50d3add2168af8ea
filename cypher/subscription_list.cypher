// Every subscription, never its secret.
MATCH (s:Subscription)
WITH s ORDER BY s.id
RETURN collect(s {.id, .url, .events, .environments, .enabled, .source, .description, .created_at,
                  has_secret: s.secret IS NOT NULL}) AS subscriptions
