"""What the rules see: the ONE builder of rule facts, for a single change and for each operation of a
change set (pure).

A single change and an operation of a set must give a rule the same facts for the same situation, so
both build them here: one `change` fact, one `component` fact, one row per impacted component and the
siblings — exactly the fields app.policy.fields declares (app.policy.fields.build enforces it).
"""

from __future__ import annotations

from app.changes.diff import keys
from app.components import registry
from app.policy import fields as fact_fields


def impacted_row(
    node: dict, *, depth: int, path: list[str], edge_kinds: list[str], path_types: list[str], via: list
) -> dict:
    """One impacted component as the rules see it (`node`: its id, type, nickname, environment, version
    and decoded config and runtime)."""
    return ImpactedRows().row(node, depth, path, edge_kinds, path_types, via)


class ImpactedRows:
    """Impacted rows in bulk (a 10,000-component impact): what a row takes from its type — declared
    runtime outputs, unpublished reads, action — is looked up once per type, not once per row."""

    def __init__(self) -> None:
        self._types: dict[str, tuple[list[str], list[str], str]] = {}

    def _of_type(self, type_name: str) -> tuple[list[str], list[str], str]:
        found = self._types.get(type_name)
        if found is None:
            rtype = registry.get(type_name) if type_name in registry else None
            found = (
                (rtype.runtime_outputs, registry.unpublished_reads(type_name), rtype.action)
                if rtype
                else ([], [], "review")
            )
            self._types[type_name] = found
        return found

    def row(
        self, node: dict, depth: int, path: list[str], edge_kinds: list[str], path_types: list[str], via: list
    ) -> dict:
        """The fields app.policy.fields declares for `impacted`, in its order (IMPACTED_FIELDS; a unit test
        holds the two together, as fact_fields.build would for one row)."""
        type_name = node["type"]
        declared, unpublished, action = self._types.get(type_name) or self._of_type(type_name)
        runtime = node.get("runtime") or {}
        return {
            "id": node["id"],
            "type": type_name,
            "nickname": node.get("nickname"),
            "environment": node["environment"],
            "version": node["version"],
            "depth": depth,
            "path": path,
            "edge_kinds": edge_kinds,
            "edge_kind": edge_kinds[-1] if edge_kinds else None,
            "runtime": runtime,
            "runtime_published": bool(runtime),
            "missing_outputs": [o for o in declared if o not in runtime] if declared else [],
            "unpublished_reads": list(unpublished),
            "action": action,
            "config": node.get("config") or {},
            "path_types": path_types,
            "via": via,
            "drift": list(node.get("drift") or []),
        }


IMPACTED_FIELDS = fact_fields.names("impacted")


def sibling_row(node: dict) -> dict:
    """A sibling (same type, same provider, same reference key) with its decoded config."""
    return fact_fields.build("siblings", {**node, "config": node.get("config") or {}})


def rule_facts(
    *,
    component: dict,
    seen_config: dict,
    diff: list[dict],
    requested_by: str,
    reason: str | None,
    on_blocked: str,
    impacted: list[dict],
    siblings: list[dict],
    op: str = "update",
    set_size: int = 1,
    set_components: list[str] | None = None,
) -> list[dict]:
    """One fact for the change itself, plus one per impacted component. `component` is the changed
    component before the change; `seen_config` the config its `component` fact shows (a create shows the
    config it creates); `impacted` and `siblings` rows come from impacted_row / sibling_row."""
    change = fact_fields.build(
        "change",
        {
            "component": component["id"],
            "type": component["type"],
            "nickname": component["nickname"],
            "environment": component["environment"],
            "changed_keys": keys(diff),
            "added_keys": keys(diff, "added"),
            "removed_keys": keys(diff, "removed"),
            "modified_keys": keys(diff, "changed"),
            "old": {e["key"]: e["old"] for e in diff if e["op"] != "added"},
            "new": {e["key"]: e["new"] for e in diff if e["op"] != "removed"},
            "requested_by": requested_by,
            "reason": reason,
            "affected_count": len(impacted),
            "on_blocked": on_blocked,
            "op": op,
            "set_size": set_size,
            "set_components": set_components if set_components is not None else [component["id"]],
            "drift": list(component.get("drift") or []),
        },
    )
    seen = fact_fields.build("component", {**component, "config": seen_config})
    return [{"change": change, "component": seen, "impacted": None, "siblings": siblings}] + [
        {"change": change, "component": seen, "impacted": row, "siblings": siblings} for row in impacted
    ]
