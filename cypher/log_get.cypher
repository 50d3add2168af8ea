// One audit entry (its `affected` ids are a property of the entry). Its AFFECTED edges are what the log's
// component filter walks; reading them here, sorted beside the entry's large JSON properties, cost
// seconds for a 1,000-component change and nothing used them.
MATCH (a:AuditEntry {id: $id})
RETURN a {.*} AS entry
