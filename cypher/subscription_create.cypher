// A subscription made through the admin API (source 'api').
CREATE (s:Subscription)
SET s = $subscription
RETURN s {.id, .url, .events, .environments, .enabled, .source, .description, .created_at,
          has_secret: s.secret IS NOT NULL} AS subscription
