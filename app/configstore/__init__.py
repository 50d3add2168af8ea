"""The config store: every applied change written back to a config tree (README "Config store").

tree.py     the tree itself: iac/<environment>/<type>/<nickname>/config.json, one file per component
            (a new one deterministic JSON), deletes remove the file (and emptied directories); a git
            work tree gets one commit per change (the real `git` binary)
layout.py   an existing file changed as text, as little as it takes: its layout kept
handler.py  the outbox handler: what a committed change wrote (read back from its ConfigVersions),
            written in commit order, once per event id
"""

from app.configstore.handler import DESTINATION, EVENTS, handlers

__all__ = ["DESTINATION", "EVENTS", "handlers"]
