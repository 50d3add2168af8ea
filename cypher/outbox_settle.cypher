// Records one delivery attempt. A success is recorded even if the lease ran out meanwhile (the entry
// was delivered); a failure only by the lease holder, and never over a recorded success. An entry that
// waited for another (`$counted` false: a handler's NotYet) has used up no attempt. A delivered entry keeps
// its receipt: the config store's git commit ($commit) and the working copy it was made in ($work_tree).
MATCH (o:OutboxEvent {id: $id})
WHERE o.state <> 'delivered' AND (o.lease_owner = $owner OR $state = 'delivered')
SET o.attempts = coalesce(o.attempts, 0) + CASE WHEN $counted THEN 1 ELSE 0 END, o.state = $state, o.last_attempt_at = $at,
    o.last_status = $http_status, o.last_error = $error, o.next_attempt_at = $next_attempt_at,
    o.delivered_at = CASE WHEN $state = 'delivered' THEN $at ELSE o.delivered_at END,
    o.commit = CASE WHEN $state = 'delivered' THEN $commit ELSE o.commit END,
    o.work_tree = CASE WHEN $state = 'delivered' THEN $work_tree ELSE o.work_tree END
REMOVE o.lease_until, o.lease_owner
RETURN o.state AS state
