"""The analysis every change goes through, pure given the graph context read for it.

validate → merge → diff → graph patch → impact → rules → downstream actions. Both `/plan` and
`/request-change` run exactly this; only what happens after (nothing, or a commit) differs.
"""

from __future__ import annotations

from datetime import datetime, timezone

from app.changes import merge_patch
from app.changes.actions import plan_actions
from app.changes.diff import diff as config_diff
from app.changes.facts import impacted_row, rule_facts, sibling_row
from app.changes.model import Analysis, ChangeRequest, Impact
from app.components import UnknownType, get_type, split_id
from app.components import references
from app.errors import NotFound, Unprocessable
from app.observability import metrics


def reference_ids(request: ChangeRequest) -> list[str]:
    """Components the proposed change points at by nickname (checked to exist in the same read)."""
    return references.nickname_ids(component_type(request.component), request.proposed_change)


def reference_values(request: ChangeRequest) -> list[dict]:
    """By-value references the proposed change makes, and the components that name this one by an attribute
    the change touches (both resolved in the same read)."""
    ctype = component_type(request.component)
    return references.value_lookups(ctype, request.proposed_change) + references.referrer_lookups(
        ctype.name, request.proposed_change
    )


def component_type(component_id: str):
    try:
        return get_type(split_id(component_id)[0])
    except (ValueError, UnknownType):
        raise NotFound(
            f"component {component_id!r} not found", cause="unknown_component", component=component_id
        ) from None


def analyse(request: ChangeRequest, ctx: dict | None, *, mode: str, policy=None, now=None) -> Analysis:
    """``now``: the request time the rules see (time conditions); the engine's clock when None."""
    if ctx is None:
        raise NotFound(
            f"component {request.component!r} not found", cause="unknown_component", component=request.component
        )
    node = ctx["component"]
    ctype = get_type(node["type"])
    component = {
        "id": node["id"],
        "type": node["type"],
        "nickname": node["nickname"],
        "environment": node["environment"],
        "version": node["version"],
        "config": node.get("config") or {},
        "runtime": node.get("runtime") or {},
        "drift": list(node.get("drift") or []),
    }
    new_config = merge_patch.apply(component["config"], request.proposed_change)
    old, new, ref_errors = references.derive_edges(
        ctype,
        component,
        component["config"],
        new_config,
        request.proposed_change,
        references.Found.from_context(ctx),
        ctx.get("outgoing") or [],
    )
    for key, messages in references.referrer_errors(
        ctype.name, new_config, request.proposed_change, ctx.get("referrers") or []
    ).items():
        ref_errors.setdefault(key, []).extend(messages)
    _validate(ctype, request, new_config, component, ref_errors)
    entries = config_diff(component["config"], new_config)
    old_edges = {_edge_key(e): e for e in old}
    new_edges = {_edge_key(e): e for e in new}
    analysis = Analysis(
        request=request,
        component=component,
        new_config=new_config,
        diff=entries,
        edges_add=[new_edges[k] for k in new_edges if k not in old_edges],
        edges_remove=[old_edges[k] for k in old_edges if k not in new_edges],
        impact=Impact(rows=[], edges=[]),
        mode=mode,
    )
    if mode == "just-apply" or not entries:
        analysis.actions = plan_actions({**component, "action": ctype.action}, [], [], removal=False).to_dict()
        return analysis
    analysis.impact = _impact(ctx, analysis)
    if policy is not None:
        rule_facts, at = facts(analysis), now or datetime.now(timezone.utc)
        with metrics.phase("rules"):
            analysis.decisions = [d.to_dict() for d in policy.evaluate(rule_facts, now=at)]
        metrics.decisions(analysis.decisions)
        analysis.rules_saw = {"facts": rule_facts, "at": at, "rules": getattr(policy, "fingerprint", None)}
    analysis.actions = plan_actions(
        {**component, "action": ctype.action},
        analysis.impact.rows,
        analysis.impact.edges,
        removal=bool(analysis.edges_remove) and not analysis.edges_add,
    ).to_dict()
    return analysis


def _edge_key(edge: dict) -> tuple:
    return edge["target"], edge["kind"], edge["via"]


def _validate(
    ctype, request: ChangeRequest, new_config: dict, component: dict, ref_errors: dict[str, list[str]]
) -> None:
    errors: dict[str, list[str]] = {}
    if ctype.closed:
        known = set(ctype.config_keys)
        for key in request.proposed_change:
            if key not in known:
                errors[f"proposed_change.{key}"] = [f"unknown config key for type {ctype.name!r}"]
    for field, messages in ctype.validate_config(new_config).items():
        errors.setdefault(f"proposed_change.{field}", messages)
    for key, messages in ref_errors.items():
        errors.setdefault(f"proposed_change.{key}", []).extend(messages)
    if errors:
        raise Unprocessable(
            "the proposed change is not valid for this component", errors=errors, component=component["id"]
        )


def _impact(ctx: dict, analysis: Analysis) -> Impact:
    rows = [
        impacted_row(
            row,
            depth=row["depth"],
            path=row["path"],
            edge_kinds=row["edge_kinds"],
            path_types=row.get("path_types") or [],
            via=row.get("via") or [],
        )
        for row in ctx["impacted"]
    ]
    siblings = [sibling_row(s) for s in ctx.get("siblings") or []]
    return Impact(rows=rows, edges=ctx["edges"], siblings=siblings)


def facts(analysis: Analysis) -> list[dict]:
    """What the rules see for a single change (a one-update set): app.changes.facts builds it, as for
    every operation of a change set."""
    req, comp = analysis.request, analysis.component
    return rule_facts(
        component=comp,
        seen_config=comp["config"],
        diff=analysis.diff,
        requested_by=req.requested_by,
        reason=req.reason,
        on_blocked=req.on_blocked,
        impacted=analysis.impact.rows,
        siblings=analysis.impact.siblings,
    )
