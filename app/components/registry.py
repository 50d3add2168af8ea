"""The registry of component types.

A type is declared once (schemas, references, outputs, action) and everything else — validation,
edge derivation, impact facts, downstream actions — reads the declaration. Adding a type means
adding a declaration; the request pipeline does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from app.components.fields import oversized_integers

# Edge kinds and which way a change propagates along each, for an edge stored (a)-[:KIND]->(b):
#   depends_on             a needs b to exist/work    → a change to b affects a
#   consumes_runtime_from  a reads b's runtime outputs → a change to b affects a
#   emits_runtime_to       a feeds its outputs into b  → a change to a affects b
EDGE_KINDS = {
    "depends_on": "to_source",
    "consumes_runtime_from": "to_source",
    "emits_runtime_to": "to_target",
}

ID_PART = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NICKNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class UnknownType(KeyError):
    pass


@dataclass(frozen=True)
class Reference:
    """A config key whose value names another component (or a list of them)."""

    key: str
    target_type: str
    kind: str = "depends_on"
    reads: tuple[str, ...] = ()  # runtime outputs of the target this component uses
    many: bool = False

    def __post_init__(self) -> None:
        if self.kind not in EDGE_KINDS:
            raise ValueError(f"unknown edge kind {self.kind!r} for reference {self.key}")

    def target_ids(self, config: dict) -> list[str]:
        value = config.get(self.key)
        if value is None:
            return []
        names = value if isinstance(value, list) else [value]
        return [f"{self.target_type}/{n}" for n in names if isinstance(n, str)]


@dataclass(frozen=True)
class ComponentType:
    name: str
    description: str
    config_schema: type[Schema]
    runtime_schema: type[Schema]
    action: str  # what a change upstream requires of this component
    references: tuple[Reference, ...] = ()

    # cached: building a marshmallow schema per impacted row was most of a plan's Python time
    @cached_property
    def config_keys(self) -> list[str]:
        return sorted(self.config_schema().fields)

    @cached_property
    def runtime_outputs(self) -> list[str]:
        return sorted(self.runtime_schema().fields)

    def validate_config(self, config: Any) -> dict[str, list[str]]:
        """Field → messages; empty when the config is valid for this type."""
        return _errors(self.config_schema(), config)

    def validate_runtime(self, runtime: Any) -> dict[str, list[str]]:
        return _errors(self.runtime_schema(), runtime)

    def edges(self, component_id: str, config: dict) -> list[dict]:
        """The dependency edges this config declares, derived from reference keys."""
        return [
            {"source": component_id, "target": target, "kind": ref.kind, "via": ref.key}
            for ref in self.references
            for target in ref.target_ids(config)
        ]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "action": self.action,
            "config_keys": {
                name: {"type": type(f).__name__, "required": f.required}
                for name, f in self.config_schema().fields.items()
            },
            "runtime_outputs": self.runtime_outputs,
            "references": [
                {"key": r.key, "target_type": r.target_type, "kind": r.kind,
                 "reads": list(r.reads), "many": r.many}
                for r in self.references
            ],
        }


def _errors(schema: Schema, data: Any) -> dict[str, list[str]]:
    if not isinstance(data, dict):
        return {"_schema": ["must be a JSON object"]}
    # plan, apply and runtime reports all validate here, so they agree on what Neo4j can store
    errors = {p: ["Not a 64-bit integer (Neo4j cannot store it)."] for p in oversized_integers(data)}
    try:
        schema.load(data)
    except ValidationError as exc:
        return {**_flatten(exc.messages), **errors}
    return errors


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → {"a.b": [...]} so every field is named by its path."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, ComponentType] = {}
        self._unpublished: dict[str, list[str]] = {}

    def register(self, ctype: ComponentType) -> ComponentType:
        if ctype.name in self._types:
            raise ValueError(f"component type {ctype.name!r} registered twice")
        self._types[ctype.name] = ctype
        self._unpublished.clear()
        return ctype

    def get(self, name: str) -> ComponentType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownType(name) from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def unpublished_reads(self, name: str) -> list[str]:
        """Outputs this type reads from providers whose types do not publish them."""
        if name not in self._unpublished:
            self._unpublished[name] = self._compute_unpublished(name)
        return list(self._unpublished[name])

    def _compute_unpublished(self, name: str) -> list[str]:
        ctype = self.get(name)
        missing = []
        for ref in ctype.references:
            if ref.target_type not in self._types:
                continue
            published = set(self.get(ref.target_type).runtime_outputs)
            missing += [f"{ref.target_type}.{r}" for r in ref.reads if r not in published]
        return missing


registry = Registry()


def get_type(name: str) -> ComponentType:
    return registry.get(name)


def split_id(component_id: str) -> tuple[str, str]:
    """`serverless-site/karma-dev` → ("serverless-site", "karma-dev"); ValueError if malformed."""
    if not isinstance(component_id, str) or component_id.count("/") != 1:
        raise ValueError("a component id is '<type>/<nickname>'")
    ctype, nickname = component_id.split("/")
    if not ID_PART.match(ctype) or not NICKNAME.match(nickname):
        raise ValueError("a component id is '<type>/<nickname>' in lower case letters, digits, '-', '.', '_'")
    return ctype, nickname
