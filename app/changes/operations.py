"""The operations a change set holds, on their own: what a request may ask for (app.changes.sets) and
what a rule may compare `change.op` with (app.policy.vocabulary) read this one list, and neither imports
the other's machinery for it."""

CONFIG_OPS = ("create", "update", "delete")
EDGE_OPS = ("add_edge", "remove_edge")  # explicit edges (`via: seed`): dependencies no config key expresses
OPS = CONFIG_OPS + EDGE_OPS
