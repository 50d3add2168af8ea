// Takes the component's write lock for the rest of the transaction, without changing it.
// Everything read after this in the same transaction is current and cannot change under us.
MATCH (c:Component {id: $id})
// use: _lock(c)
RETURN c.version AS version
