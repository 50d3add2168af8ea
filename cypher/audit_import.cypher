// The one AuditEntry of a bulk import (the first seed of an empty graph), in the load's transaction.
CREATE (a:AuditEntry)
SET a = $audit
RETURN a.id AS id
