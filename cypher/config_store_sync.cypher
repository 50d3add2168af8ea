// The config store's subscription: present (and enabled) exactly when $enabled. It is what makes every
// commit's `applied` event (single changes, sets, rollbacks, queue and approval outcomes) also get an
// outbox entry for the destination 'config-store' (see _outbox_write.cypher), in the commit's own
// transaction; the worker's config-store handler delivers it (app/configstore/).
CALL () {
  MATCH (s:Subscription {id: 'config-store'})
  WHERE NOT $enabled
  DELETE s
}
CALL () {
  UNWIND CASE WHEN $enabled THEN [1] ELSE [] END AS _
  MERGE (s:Subscription {id: 'config-store'})
  SET s.source = 'settings', s.destination = 'config-store', s.events = $events, s.environments = [],
      s.enabled = true, s.description = 'write-back to the config store (KARMA_CONFIG_STORE)'
}
RETURN $enabled AS enabled
