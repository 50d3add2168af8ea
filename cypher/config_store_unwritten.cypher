// The changes Karma applied to components $ids that the config store has not written to the tree yet
// (their `config-store` outbox entry pending, retrying or failed: $states): for those components the tree
// is behind the graph, so an import of the tree would undo them. Oldest first. Runtime reports (no change
// id) are left out: an import never writes runtime.
// use: _unwritten_writebacks()
