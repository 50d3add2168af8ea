// Claims up to $limit due outbox entries for one delivery pass: each is leased to $owner until
// $lease_until (epoch seconds), so concurrent workers never send the same entry at the same time; a
// worker that dies mid-pass leaves its lease to expire and the entry is sent again (at least once).
// Oldest first, in commit order (created_at): an entry that waits for an earlier one (the config store
// writes in commit order) comes after it in the same pass, even when the earlier one was just retried.
MATCH (o:OutboxEvent)
WHERE o.state IN ['pending', 'retrying'] AND o.next_attempt_at <= $now
  AND coalesce(o.lease_until, 0) <= $now AND o.destination IN $destinations
WITH o ORDER BY o.created_at, o.id LIMIT $limit
SET o._karma_lock = true
REMOVE o._karma_lock
WITH o WHERE o.state IN ['pending', 'retrying'] AND coalesce(o.lease_until, 0) <= $now
SET o.lease_until = $lease_until, o.lease_owner = $owner
WITH o
OPTIONAL MATCH (s:Subscription {id: o.subscription_id})
WITH o, s ORDER BY o.created_at, o.id
RETURN collect({entry: o {.*}, url: s.url, secret: s.secret, enabled: s.enabled, source: s.source}) AS items
