// Makes the file-declared subscriptions (source 'file') exactly $subscriptions: upserts each, deletes
// the file-declared ones no longer in the file. Subscriptions made through the admin API are untouched.
CALL () {
  MATCH (s:Subscription {source: 'file'})
  WHERE NOT s.id IN [x IN $subscriptions | x.id]
  DELETE s
}
CALL () {
  UNWIND $subscriptions AS sub
  MERGE (s:Subscription {id: sub.id})
  SET s = sub
}
RETURN size($subscriptions) AS synced
