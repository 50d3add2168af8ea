"""Reading the component graph, and recording what deploys report (runtime outputs)."""

from __future__ import annotations

import logging

from app.audit.entries import audit_entry
from app.audit.statuses import REPORTED
from app.changes.set_graph import GraphState, edge_order
from app.clock import utcnow
from app.notifications import events as outbox_events
from app.components import drift, references
from app.components.registry import UnknownType, get_type, split_id
from app.errors import Forbidden, NotFound, Unprocessable
from app.ids import new_id
from app.graph.codec import dumps
from app.graph.repository import GraphRepository, GraphTx
from app.reliability import deadline

log = logging.getLogger("karma.components")
ANSWER_RESERVE = 3.0  # seconds of the request deadline kept, after a runtime report's queue pass, to answer


def _require_id(component_id: str) -> str:
    """An id from a URL path that names no component: 404 — saying so when it is no id at all (`foo`,
    `Vpc/X`) and what an id looks like, where a plain "not found" sent people looking for a component.
    (An id in a body that cannot exist is a 422 naming its field: app.changes.sets.check_structure.)"""
    try:
        type_name, _ = split_id(component_id)
    except ValueError as exc:
        raise NotFound(
            f"{component_id!r} is not a component id: {exc}", cause="malformed_component_id", component=component_id
        ) from None
    try:
        get_type(type_name)
    except UnknownType:
        raise NotFound(
            f"component {component_id!r} not found", cause="unknown_component", component=component_id
        ) from None
    return component_id


def missing(component_id: str, read_ids) -> NotFound:
    """The 404 of an id of a known type that names no component, with the id it most likely meant among
    that type's in the graph (`read_ids`: read now, on this error path only — a GET that finds its
    component reads nothing more)."""
    return references.missing_component(component_id, references.NearNames(read_ids=read_ids, as_ids=True))


ENVIRONMENTS_NAMED = 20  # in a warning; the rest counted


def environment_warnings(repo: GraphRepository, environment: str | None) -> list[str]:
    """A list filtered by an environment no component lives in said nothing: an operator's typo ('prdd')
    read as "no components there". Called only when the filtered list is empty, so a listing that finds
    something costs nothing more; then one index seek, and the environments there are only for a typo."""
    if not environment or not repo.unknown_environments([environment]):
        return []
    known = repo.environments()
    named = ", ".join(known[:ENVIRONMENTS_NAMED]) or "none yet"
    if len(known) > ENVIRONMENTS_NAMED:
        named += f" and {len(known) - ENVIRONMENTS_NAMED} more"
    return [f"no component lives in environment {environment!r} (environments: {named})"]


class ComponentService:
    def __init__(self, repo: GraphRepository, on_runtime_change=None):
        self.repo = repo
        # Called with the component id and the reporter after a runtime report commits (re-evaluates the
        # queue, advances the transitions waiting on it: their moves name the reporter as who moved them).
        self.on_runtime_change = on_runtime_change

    def list(
        self, *, type_: str | None, environment: str | None, page: int, page_size: int, name: str | None = None
    ) -> dict:
        found = self.repo.list_components(
            type_=type_, environment=environment, name=name, skip=(page - 1) * page_size, limit=page_size
        )
        listing = {"items": found["items"], "total": found["total"], "page": page, "page_size": page_size}
        return self._warned(listing, environment, empty=not found["total"])

    def get(self, component_id: str) -> dict:
        found = self.repo.component_page(_require_id(component_id))
        if "id" not in found:  # not in the graph: its records say whether an import refused its file
            raise drift.refused_here(missing(component_id, self.repo.component_ids_of_type), lambda _: found["refused"])
        stored, refused, unwritten = found.pop("drift_entries"), found.pop("refused"), found.pop("unwritten")
        # The same entries GET /drift?component= lists (stored drift, file records, write-backs not landed;
        # nothing recomputed).
        entries = drift.report([{**found, "drift_entries": stored}], refused, unwritten)["entries"]
        return {**found, "action": get_type(found["type"]).action, "drift": entries}

    def _records(self, component_id: str) -> list[dict]:
        return self.repo.drift(component=component_id)["refused"]

    def impact(self, component_id: str) -> dict:
        """What a change to the component reaches, exactly as a plan of a change to it names it: the same
        read (a set of one's context) and the same walk (shortest paths, ties to the first in id order),
        so the impact view and the plan never name two different paths to one component."""
        ctx = self.repo.change_set_context([_require_id(component_id)], [])
        if not ctx["touched"]:
            raise drift.refused_here(missing(component_id, self.repo.component_ids_of_type), self._records)
        affected = [
            {
                **{k: row[k] for k in ("id", "type", "environment", "depth", "path", "edge_kinds", "runtime")},
                "action": row["action"],
            }
            for row in GraphState(ctx).impact(component_id)
        ]
        edges = sorted(
            (
                {"source": source, "target": target, "kind": kind, "via": via}
                for source, target, kind, via in ctx["touched"][0]["edges"]
            ),
            key=edge_order,  # the order a plan's edge lists have, whatever order the store keeps them in
        )
        return {"component": component_id, "affected": affected, "edges": edges, "count": len(affected)}

    def graph(self, environment: str | None) -> dict:
        found = self.repo.graph(environment)
        return self._warned(found, environment, empty=not found["nodes"])

    def environments(self, first: int) -> list[str]:
        """The first `first` environments components live in, sorted: what a filter offers as suggestions."""
        return self.repo.environments(first)

    def _warned(self, answer: dict, environment: str | None, *, empty: bool) -> dict:
        """The answer, with `warnings` when it is empty because no component lives in its environment."""
        warnings = environment_warnings(self.repo, environment) if empty else []
        return {**answer, "warnings": warnings} if warnings else answer

    def versions(self, component_id: str) -> list[dict]:
        """Every kept version, newest first; a deleted component's history stays readable (404 only for
        an id that never existed)."""
        versions = self.repo.config_versions(_require_id(component_id))
        if not versions:
            self.get(component_id)  # 404 for an unknown component
        return versions

    def update_runtime(self, component_id: str, runtime: dict, reported_by: str, actor=None) -> dict:
        """Replace the runtime outputs a deploy reports; validated, versioned and audited."""
        ctype = get_type(split_id(_require_id(component_id))[0])
        errors = ctype.validate_runtime(runtime)
        if errors:
            raise Unprocessable(
                f"runtime outputs are not valid for this component type: {_declared_outputs(ctype)}",
                errors={f"runtime.{k}": v for k, v in errors.items()},
                component=component_id,
            )

        def work(gtx: GraphTx) -> dict:
            if gtx.lock(component_id) is None:
                raise missing(component_id, gtx.component_ids_of_type)
            current = gtx.component(component_id)
            if actor is not None and not actor.may_touch(current["environment"]):
                raise Forbidden(
                    f"this token may not report for {current['environment']!r} components",
                    cause="environment",
                    component=component_id,
                )
            now, log_id = utcnow(), new_id("log")
            audit = audit_entry(
                kind="runtime",
                log_id=log_id,
                now=now,
                requested_by=reported_by,
                status=REPORTED,
                component=current,
                request={"runtime": runtime, "reported_by": reported_by},
                version_before=current["version"],
                version_after=current["version"] + 1,
                diff=dumps({"before": current["runtime"], "after": runtime}),
                note=_report_note(current["runtime"], runtime),
            )
            return gtx.report_runtime(
                component_id,
                runtime,
                drift=drift.of_report(ctype, current, runtime),
                previous_keys=current["runtime_keys"],
                now=now,
                audit=audit,
                outbox=outbox_events.for_runtime_report(audit=audit, now=now),
            )

        row = self.repo.in_write_tx(work)
        log.info("runtime reported", extra={"component": component_id, "version": row["version"]})
        moved = {}
        if self.on_runtime_change is not None:
            try:
                # the report is committed: its answer must not be lost to the deadline, so the queue pass
                # stops ANSWER_RESERVE seconds early and leaves the rest to the queue worker
                with deadline.leaving(ANSWER_RESERVE):
                    moved = self.on_runtime_change(component_id, reported_by)
            except deadline.DeadlineExceeded:
                log.warning(
                    "queue re-evaluation left to the queue worker (request deadline)", extra={"component": component_id}
                )
            except Exception:  # the report is committed; the worker retries the queue
                log.exception("queue re-evaluation failed", extra={"component": component_id})
        return {
            **self.get(component_id),
            "log_entry_id": row["log_entry_id"],
            "queue": moved.get("queue") or [],
            "transitions": moved.get("transitions") or [],
        }


def _report_note(before: dict, after: dict) -> str:
    """What a report changed, by output name (the log's rows told two reports in a row apart by nothing):
    `reported: state changed; private_ip added` — names, not values (the values are in the entry's diff)."""
    before, after = before or {}, after or {}
    changed = [k for k in after if k in before and before[k] != after[k]]
    parts = [
        f"{', '.join(keys)} {what}"
        for keys, what in (
            (changed, "changed"),
            ([k for k in after if k not in before], "added"),
            ([k for k in before if k not in after], "removed"),
        )
        if keys
    ]
    return "reported: " + ("; ".join(parts) if parts else "nothing changed")


def _declared_outputs(ctype) -> str:
    """What a report may name: `Unknown field.` said what it may not. A type inferred from a schema declares
    none (aws-config's: every report refused) until its declaration lists them."""
    if ctype.runtime_outputs:
        return f"{ctype.name} reports {', '.join(ctype.runtime_outputs)}"
    return f"{ctype.name} declares no runtime outputs (its type declaration's runtime_outputs, docs/types.md)"
