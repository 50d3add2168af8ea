// Writes outbox events outside a change commit (a producer with its own transaction, e.g. a
// config-store write-back or a test). Same block as the commit statement uses.
WITH 1 AS _
// use: _outbox_write()
RETURN size($outbox) AS events
