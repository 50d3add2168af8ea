// fragment(node): takes node's write lock for the rest of the transaction, without changing it.
// Everything read after it in the same transaction is current and cannot change under us.
SET node._karma_lock = true
REMOVE node._karma_lock
