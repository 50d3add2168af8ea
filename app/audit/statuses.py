"""Every status an audit entry can carry — a filter of the log (GET /log?status=, `karma log --status`,
the console) takes these and refuses any other: an unknown one used to answer an empty page.

A change's entries carry its statuses and a transition's entries its own (their tables are
app/changes/status.py and app/transitions/status.py); the other kinds' are here, and their writers use
these names.
"""

from __future__ import annotations

from app.changes.status import STORED as CHANGE_STATUSES
from app.transitions.status import STORED as TRANSITION_STATUSES

REPORTED = "reported"  # kind runtime: a deploy's report
UNAUTHORIZED, FORBIDDEN = "unauthorized", "forbidden"  # kind security: a refused call (401, 403)
QUERY_OK = "ok"  # kind query: an operator's read-only query ran
REFUSED = "refused"  # kind query: a query refused; kind import: an import refused whole
IMPORTED, UNCHANGED = "imported", "unchanged"  # kind import: a bulk load; nothing to change
# kind admin: an operator's action on what is not the graph but decides who may act and who is told
TOKEN_CREATED, TOKEN_REVOKED = "token_created", "token_revoked"
SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED = "subscription_created", "subscription_deleted"
OUTBOX_RETRIED, OUTBOX_PRUNED = "outbox_retried", "outbox_pruned"
ADMIN_STATUSES = (
    TOKEN_CREATED,
    TOKEN_REVOKED,
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_DELETED,
    OUTBOX_RETRIED,
    OUTBOX_PRUNED,
)

LOG_STATUSES = tuple(
    dict.fromkeys(
        [
            *CHANGE_STATUSES,
            *TRANSITION_STATUSES,
            REPORTED,
            UNAUTHORIZED,
            FORBIDDEN,
            QUERY_OK,
            REFUSED,
            IMPORTED,
            UNCHANGED,
            *ADMIN_STATUSES,
        ]
    )
)
