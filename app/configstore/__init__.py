"""The config store: every applied change written back to a config tree (README "Config store").

tree.py     the tree itself: iac/<environment>/<type>/<nickname>/config.json, deterministic JSON, one
            file per component, deletes remove the file (and emptied directories); a git work tree gets
            one commit per change (the real `git` binary)
handler.py  the outbox handler: what a committed change wrote (read back from its ConfigVersions),
            written in commit order, once per event id
"""

from app.configstore.handler import DESTINATION, EVENTS, handlers

__all__ = ["DESTINATION", "EVENTS", "handlers"]
