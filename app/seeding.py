"""Loading a seed file (the karma world, or a user's own graph) into Neo4j.

The whole file is validated before anything is written, then written in one transaction: a bad
file is refused whole, with every error naming the component and the field.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from app import yaml_misreads
from app import json_strict
from app.json_strict import NotStrictJSON
from app.yaml_strict import StrictLoader, UnreadableFile, read_text
from app.components import EDGE_KINDS, UnknownType, get_type, parse_id, registry, split_id
from app.components import drift, references
from app.graph.codec import CONFIG_PREFIX, RUNTIME_PREFIX, dumps, flat_properties
from app.graph.repository import GraphRepository
from app.progress import Report, silent

log = logging.getLogger("karma.seed")

FORMAT = "karma-seed/v1"
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TOP_KEYS = {"format", "components", "edges"}
COMPONENT_KEYS = {"id", "environment", "config", "runtime"}
EDGE_KEYS = {"from", "to", "kind"}
EXPLICIT_VIA = "seed"


class SeedError(ValueError):
    """A seed file refused whole, each problem a line; `planned`: said of a plan, which loads nothing anyway."""

    def __init__(self, errors: list[str], planned: bool = False):
        self.errors = errors
        head = "the seed would be refused" if planned else "seed file refused, nothing loaded"
        super().__init__(f"{head}:\n  " + "\n  ".join(errors))


def read_file(path: Path) -> Any:
    """The file's document; SeedError when it cannot be read, is no YAML/JSON, or holds an unquoted value
    YAML 1.1 reads as other than written, which would otherwise be stored so: a number (``port: 017`` is
    15, ``window: 1:30`` is 90), or a boolean where the author meant the word (``mode: on`` for a string,
    judged against the component's type: seed_sections) (app.yaml_misreads); or, in JSON, what Python's
    json reads other than written (app.json_strict): a duplicated key (the last one silently won), NaN or
    Infinity, a number beyond a float's range (1e400 was infinity), a lone surrogate escape (``"\\ud800"``,
    no character: the driver and the rule engine crashed on it) — each named by its field and line."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        raise SeedError([str(exc)]) from None
    try:
        if str(path).endswith(".json"):
            doc, misread = json_strict.loads(text), []
        else:
            doc, misread = yaml_misreads.load(text, StrictLoader, seed_sections)  # a duplicated key refused
    except NotStrictJSON as exc:
        raise SeedError([f"{path}: {_strict_refusal(text, exc)}"]) from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SeedError([f"{path}: not valid YAML/JSON: {exc}"]) from None
    if misread:
        raise SeedError([f"{path}: {_seed_path(doc, n.path)}: {n.problem()}" for n in misread])
    return doc


def _strict_refusal(text: str, exc: NotStrictJSON) -> str:
    """A JSON seed's refusal as its other refusals word it (``components[0] (vpc/x): config.tags.owner:
    …``): the component named by its id, as Python's json reads the text — only to name it."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    line = f", at line {exc.line}" if exc.line else ""
    return f"{_seed_path(doc, exc.path) or '(the document)'}: {exc.problem}{line}"


def seed_sections(doc: Any) -> dict[tuple, yaml_misreads.Validate | None]:
    """Where a seed holds values a schema validates (yaml_misreads.misread_booleans): each component's
    config (its type's schema) and runtime (its runtime schema); an unknown type's, values of any type
    (validate() refuses the type). Everything else — format, id, environment, edges — is text."""
    raw = doc.get("components") if isinstance(doc, dict) else None
    out: dict[tuple, yaml_misreads.Validate | None] = {}
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            ctype = get_type(split_id(item.get("id"))[0])
        except (ValueError, UnknownType, AttributeError, TypeError):
            ctype = None
        out[("components", index, "config")] = ctype.validate_config if ctype else None
        out[("components", index, "runtime")] = ctype.validate_runtime if ctype else None
    return out


def _seed_path(doc: Any, path: tuple) -> str:
    """A key path as the seed's other refusals word it: ``components[3] (vpc/x): config.port``."""
    if len(path) < 2 or not isinstance(path[1], int) or path[0] not in ("components", "edges"):
        return yaml_misreads.dotted(path)
    head = f"{path[0]}[{path[1]}]"
    if path[0] == "components":
        try:  # the node walked is the document's (a duplicated key is refused before: app.yaml_strict)
            item = doc[path[0]][path[1]]
        except (IndexError, KeyError, TypeError):
            item = None
        head += f" ({item.get('id', '?') if isinstance(item, dict) else '?'})"
    return f"{head}: {yaml_misreads.dotted(path[2:])}" if len(path) > 2 else head


def _check_component(index: int, item: Any, errors: list[str]) -> dict | None:
    where = f"components[{index}]"
    if not isinstance(item, dict):
        errors.append(f"{where}: must be a mapping")
        return None
    where = f"{where} ({item.get('id', '?')})"
    for key in sorted(set(item) - COMPONENT_KEYS):
        errors.append(f"{where}: {key}: unknown field")
    try:
        type_name, nickname = split_id(item.get("id"))
        ctype = get_type(type_name)
    except ValueError as exc:
        errors.append(f"{where}: id: {exc}")
        return None
    except UnknownType:
        errors.append(f"{where}: id: unknown component type {type_name!r}")
        return None
    env = item.get("environment")
    if not isinstance(env, str) or not ENVIRONMENT.match(env):
        errors.append(f"{where}: environment: required, lower-case letters, digits and '-'")
    elif parse_id(item["id"])[0] not in (None, env):
        errors.append(f"{where}: id: qualified with environment {parse_id(item['id'])[0]!r}, not {env!r}")
    config, runtime = item.get("config"), item.get("runtime", {})
    for field, messages in ctype.validate_config(config).items():
        errors.append(f"{where}: config.{field}: {'; '.join(messages)}")
    for field, messages in ctype.validate_runtime(runtime).items():
        errors.append(f"{where}: runtime.{field}: {'; '.join(messages)}")
    return {
        "id": item["id"],
        "type": type_name,
        "nickname": nickname,
        "environment": env,
        "config": config if isinstance(config, dict) else {},
        "runtime": runtime if isinstance(runtime, dict) else {},
        "ctype": ctype,
        "where": where,
    }


def _check_edges(raw: Any, known: dict[str, dict], errors: list[str]) -> list[dict]:
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        errors.append("edges: must be a list")
        return []
    edges = []
    for i, item in enumerate(raw):
        where = f"edges[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        for key in sorted(set(item) - EDGE_KEYS):
            errors.append(f"{where}: {key}: unknown field")
        if item.get("kind") not in EDGE_KINDS:
            errors.append(f"{where}: kind: must be one of {sorted(EDGE_KINDS)}")
        for end in ("from", "to"):
            if item.get(end) not in known:
                errors.append(f"{where}: {end}: unknown component {item.get(end)!r}")
        if item.get("from") in known and item.get("to") in known and item.get("kind") in EDGE_KINDS:
            problem = emits_problem(known[item["from"]]["type"], known[item["to"]]["type"], item["kind"])
            if problem:
                errors.append(f"{where}: kind: {problem}")
        edges.append(
            {"source": item.get("from"), "target": item.get("to"), "kind": item.get("kind"), "via": EXPLICIT_VIA}
        )
    return edges


def emits_problem(source_type: str, target_type: str, kind: str) -> str | None:
    """Impact follows at most one emits_runtime_to hop per path (cypher/impact.cypher); the registry keeps
    emitting types upstream of everything, and explicit edges must not break that."""
    emitters = registry.emitters()
    if kind == "emits_runtime_to" and (source_type not in emitters or target_type in emitters):
        return (
            f"emits_runtime_to edges go from an emitting type ({', '.join(sorted(emitters))}) "
            f"to a non-emitting one, not {source_type} → {target_type}"
        )
    if kind != "emits_runtime_to" and source_type in emitters:
        return f"a {source_type} emits its changes and cannot itself depend on another component"
    return None


def validate(
    doc: Any, existing: dict[str, dict], graph_values: list[dict] | None = None
) -> tuple[list[dict], list[dict]]:
    """→ (components, edges) ready to write, or SeedError listing every problem. `graph_values`: the
    graph's candidates for the file's by-value references (`lookups`), for targets not in the file."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        raise SeedError(["file: must be a mapping with 'components'"])
    for key in sorted(set(doc) - TOP_KEYS):
        errors.append(f"{key}: unknown field")
    if doc.get("format", FORMAT) != FORMAT:
        errors.append(f"format: must be {FORMAT!r}")
    raw = doc.get("components")
    if not isinstance(raw, list) or not raw:
        raise SeedError(errors + ["components: required, a non-empty list"])
    components = [c for i, item in enumerate(raw) if (c := _check_component(i, item, errors))]
    seen: dict[str, dict] = {}
    for comp in components:
        if comp["id"] in seen:
            errors.append(f"{comp['where']}: id: duplicate component id")
        seen[comp["id"]] = comp
    matched = {v["id"]: {"id": v["id"], "type": v["type"], "environment": v["environment"]} for v in graph_values or []}
    known = {**matched, **existing, **seen}
    found = _found(components, known, seen, graph_values or [])
    edges = []
    for comp in components:
        resolved, problems = references.resolve(comp["ctype"], comp["environment"], comp["config"], found)
        for key, messages in problems.items():
            errors.extend(f"{comp['where']}: config.{key}: {m}" for m in messages)
        edges += [e for e in comp["ctype"].edges(comp["id"], comp["config"], resolved) if e["target"] in known]
    edges += _check_edges(doc.get("edges"), known, errors)
    if errors:
        raise SeedError(errors)
    return components, edges


def _found(
    components: list[dict], known: dict[str, dict], seen: dict[str, dict], graph_values: list[dict]
) -> references.Found:
    """What the references may resolve to: the file's components (as they will be) and the graph's."""
    refs = [
        {"id": i, "exists": True, "type": c.get("type"), "environment": c.get("environment")} for i, c in known.items()
    ]
    attributes = {(r.target_type, r.by) for t in registry.names() for r in get_type(t).references if r.by_value}
    values = [
        {
            "type": c["type"],
            "property": f"cfg_{attr}",
            "value": c["config"].get(attr),
            "id": c["id"],
            "environment": c["environment"],
        }
        for c in components
        for (type_name, attr) in attributes
        if c["type"] == type_name
    ]
    values += [v for v in graph_values if v["id"] not in seen]
    return references.Found(refs=refs, values=values)


def lookups(raw: list) -> list[dict]:
    """The by-value lookups a file's components need answered by the graph."""
    out = []
    for item in raw:
        try:
            ctype = get_type(split_id(item.get("id"))[0])
        except (ValueError, UnknownType, AttributeError):
            continue
        out += references.value_lookups(ctype, item.get("config") if isinstance(item.get("config"), dict) else {})
    return out


def to_rows(components: list[dict], existing: dict[str, dict]) -> list[dict]:
    rows = []
    for comp in components:
        old = existing.get(comp["id"], {})
        props = flat_properties(CONFIG_PREFIX, comp["config"], old.get("config_keys"))
        props.update(flat_properties(RUNTIME_PREFIX, comp["runtime"], old.get("runtime_keys")))
        # a seeded or imported runtime that contradicts its config (runtime_matches) is runtime drift
        ctype = comp.get("ctype") or get_type(comp["type"])  # rows built outside the loader (the bench) name it
        props.update(drift.drift_props(drift.runtime(ctype, comp["id"], comp["config"], comp["runtime"])))
        changed = (
            not old
            or old["config"] != comp["config"]
            or old["runtime"] != comp["runtime"]
            or old.get("environment") != comp["environment"]
        )
        rows.append(
            {
                "id": comp["id"],
                "changed": changed,
                # its runtime_updated_at: a runtime the load writes anew (an empty one is no report)
                "runtime_reported": bool(comp["runtime"]) and (not old or old["runtime"] != comp["runtime"]),
                "type": comp["type"],
                "nickname": comp["nickname"],
                "environment": comp["environment"],
                "config": dumps(comp["config"]),
                "runtime": dumps(comp["runtime"]),
                "config_keys": list(comp["config"]),
                "runtime_keys": list(comp["runtime"]),
                "props": props,
            }
        )
    return rows


def load(repo: GraphRepository, path: Path, audit: dict | None = None, progress: Report = silent) -> dict:
    """The bulk load (for an EMPTY graph: `karma seed` sends anything else through the gate, see
    app.changes.seed_sets); `audit` is the one `import` AuditEntry written in the same transaction;
    `progress` hears each batch written (GraphRepository.seed)."""
    doc = read_file(path)
    raw = doc.get("components") if isinstance(doc, dict) else None
    raw = raw if isinstance(raw, list) else []
    ids = [c.get("id") for c in raw if isinstance(c, dict) and isinstance(c.get("id"), str)]
    existing = repo.existing(sorted(set(ids) | referenced_ids(doc)))
    components, edges = validate(doc, existing, repo.reference_values(lookups(raw)))
    log.info("seed validated", extra={"file": str(path), "components": len(components), "edges": len(edges)})
    result = repo.seed(to_rows(components, existing), edges, datetime.now(timezone.utc), audit=audit, progress=progress)
    log.info("seed loaded", extra={"file": str(path), **result})
    return result


def file_ids(doc: Any) -> list[str]:
    """The ids a file's components name (before validation: a malformed entry has none)."""
    raw = doc.get("components") if isinstance(doc, dict) else None
    raw = raw if isinstance(raw, list) else []
    return [c["id"] for c in raw if isinstance(c, dict) and isinstance(c.get("id"), str)]


def referenced_ids(doc: Any) -> set[str]:
    """Ids a file points at (config references and explicit edges), to check them against the graph."""
    raw = doc.get("components") if isinstance(doc, dict) else None
    referenced = _referenced_ids(raw if isinstance(raw, list) else [])
    edges_raw = doc.get("edges") if isinstance(doc, dict) else None
    if isinstance(edges_raw, list):
        referenced |= {
            e.get(end)
            for e in edges_raw
            if isinstance(e, dict)
            for end in ("from", "to")
            if isinstance(e.get(end), str)
        }
    return referenced


def _referenced_ids(raw: list) -> set[str]:
    """Ids a file points at, so references to components already in the graph can be checked."""
    out: set[str] = set()
    for item in raw:
        try:
            ctype = get_type(split_id(item.get("id"))[0])
        except (ValueError, UnknownType, AttributeError):
            continue
        config = item.get("config") if isinstance(item.get("config"), dict) else {}
        out.update(e["target"] for e in ctype.edges(item["id"], config))
    return out
