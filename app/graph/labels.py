"""The node labels and the structural relationship types Karma's Cypher uses.

The dependency edges between components are the edge kinds of the component registry
(`app.components.EDGE_KINDS`, stored upper-cased: `depends_on` → `DEPENDS_ON`); everything else a query
may name is listed here. tests/unit/test_cypher_files.py checks every `cypher/*.cypher` file against both.
"""

from __future__ import annotations

# DeletedComponent: a component a change set deleted — no longer a :Component (its id is free, no edges),
# kept with its last config and runtime, its version history and its audit links.
NODE_LABELS = (
    "Component",
    "DeletedComponent",
    "ConfigVersion",
    "AuditEntry",
    "ChangeRequest",
    "ApiToken",
    "KarmaType",  # the fingerprint of each type declaration the service started with
    "OutboxEvent",
    "Subscription",  # notifications: the transactional outbox, who is told what
    "Transition",
    "Drift",  # a config file an import refused (contract or reference drift): app.components.drift
)  # an executed transition proposal (issue 13): its steps and progress

# (from label, type, to label): what each structural relationship links
STRUCTURAL_RELATIONSHIPS = {
    "HAS_VERSION": ("Component", "ConfigVersion"),
    "FOR": ("AuditEntry", "Component"),
    "AFFECTED": ("AuditEntry", "Component"),
    "TARGETS": ("ChangeRequest", "Component"),
    "LOGGED_AS": ("ChangeRequest", "AuditEntry"),
    "WAITS_ON": ("ChangeRequest", "Component"),
    "ROLLS_BACK": ("ChangeRequest", "ChangeRequest"),
    "STEP_OF": ("ChangeRequest", "Transition"),  # the change request a transition's step made
    "WAITS_FOR": ("Transition", "Component"),  # a waiting transition: whose runtime report it waits for
    "RECORDS": ("AuditEntry", "Transition"),  # every move of a transition is audited
}


def relationship_type(edge_kind: str) -> str:
    """How an edge kind of the component registry is stored: `depends_on` → `DEPENDS_ON`."""
    return edge_kind.upper()
