// One outbox entry (by its id) with its body.
MATCH (o:OutboxEvent {id: $id})
RETURN o {.*} AS entry
