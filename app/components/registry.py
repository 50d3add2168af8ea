"""The registry of component types.

A type is data: a JSON Schema for its config plus Karma's small declaration beside it (references,
runtime outputs, action), read from the types directory (`app.components.loader`). Everything else —
validation, edge derivation, impact facts, downstream actions — reads the declaration; nothing in the
change pipeline is type-specific Python.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from collections.abc import Callable
from typing import Any

from app.components import schema as jsonschema_

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

# How a reference's value may be compared with the target's attribute.
NORMALIZERS = {
    "trailing-dot": "a trailing '.' is ignored (DNS names: 'usekarma.dev' = 'usekarma.dev.')",
    "case": "letter case is ignored",
}
SCOPES = ("same", "any")  # or the name of one environment

# A component's siblings — the others of its type depending on the same provider through the same
# reference key (the other subnets of its VPC), what the rules compare it with — are the first
# MAX_SIBLINGS by id: the read stays bounded whatever the provider's fan-in (AWS allows 200 subnets per
# VPC). The set context read, the set's graph state and the rule fixture all cut there.
MAX_SIBLINGS = 256

ID_PART = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NICKNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
# The words that end the API's paths under a component (/components/<id>/impact, …): a qualified id
# ending in one would read, in a URL, as that path of the two-part id before it.
PATH_WORDS = frozenset({"impact", "versions", "runtime"})


class UnknownType(KeyError):
    pass


@dataclass(frozen=True)
class Reference:
    """A config key whose value names another component (or a list of them).

    By nickname (`by` is None: the value is the target's nickname) or by value (`by` names a top-level
    config attribute of the target, compared after `normalize`). `scope` says where targets are looked
    for: `same` environment (the default), `any`, or one named environment.
    """

    key: str  # a top-level key, or a path through maps: `functions.*.vpc_nickname` (`*`: every key)
    target_type: str
    kind: str = "depends_on"
    reads: tuple[str, ...] = ()  # runtime outputs of the target this component uses
    many: bool = False  # the key holds a list (informative; any list of names is accepted)
    by: str | None = None
    normalize: tuple[str, ...] = ()
    scope: str = "same"
    form: str = "nickname"  # nickname | runtime-path (`/iac/<type>/<nickname>/runtime` names the nickname)
    inferred: str | None = None  # how `karma types infer` found it (a person confirms by-value guesses)

    def __post_init__(self) -> None:
        if self.kind not in EDGE_KINDS:
            raise ValueError(f"unknown edge kind {self.kind!r} for reference {self.key}")

    @property
    def by_value(self) -> bool:
        return self.by is not None

    @property
    def target_property(self) -> str:
        """The stored node property compared for a by-value reference (`cfg_<by>`)."""
        return f"cfg_{self.by}"

    @property
    def top(self) -> str:
        """The top-level config key the reference lives under (what a change sets or removes)."""
        return self.key.split(".", 1)[0]

    def raw_places(self, config: Any) -> list[tuple[str, str]]:
        """(place, string) for each string found at the key (through `*` segments), as written: the place is
        the key with each `*` replaced by the map key it went through (`functions.karma-graph-query.
        vpc_nickname`), so a problem names the config's own field, not the declaration's pattern (a list
        keeps its key: the value names the item)."""
        found: list[tuple[str, Any]] = [("", config)]
        for part in self.key.split("."):
            step = []
            for path, node in found:
                if not isinstance(node, dict):
                    continue
                keys = sorted(node) if part == "*" else [part] if part in node else []
                step += [(f"{path}.{k}" if path else str(k), node[k]) for k in keys]
            found = step
        pairs = [(path, n) for path, v in found for n in (v if isinstance(v, list) else [v])]
        return [(path, n) for path, n in pairs if isinstance(n, str) and n]

    def places(self, config: Any) -> list[tuple[str, str]]:
        """(place, name) as :meth:`values` reads each name, once per place (see :meth:`raw_places`)."""
        named = (
            (place, runtime_path_nickname(raw, self.target_type) if self.form == "runtime-path" else raw)
            for place, raw in self.raw_places(config)
        )
        return list(dict.fromkeys(named))

    def matches(self, place: str) -> bool:
        """Whether a concrete place (`functions.api.vpc_nickname`) is one this key's pattern names."""
        pattern = r"\.".join(".+" if part == "*" else re.escape(part) for part in self.key.split("."))
        return re.fullmatch(pattern, place) is not None  # `.+`: a map key may itself hold a dot

    def values(self, config: Any) -> list[str]:
        """The names the reference holds: nicknames (from a runtime path, the nickname it names), or the
        values a by-value reference compares. A runtime path of another shape stays as written (it then
        names no component, and resolving says so)."""
        return list(dict.fromkeys(name for _place, name in self.places(config)))

    def target_ids(self, config: dict) -> list[str]:
        """Ids a by-nickname reference names (a by-value reference needs the graph: see references)."""
        if self.by_value:
            return []
        return [f"{self.target_type}/{n}" for n in self.values(config)]

    def normal(self, value: str) -> str:
        if "trailing-dot" in self.normalize:
            value = value.rstrip(".")
        if "case" in self.normalize:
            value = value.lower()
        return value

    def candidates(self, value: str) -> list[str]:
        """Stored forms equal to `value` after normalisation (compared with `IN` in Cypher; when case is
        ignored the stored value is lower-cased there too)."""
        base = self.normal(value)
        return [base, base + "."] if "trailing-dot" in self.normalize else [base]

    def scope_environment(self, own_environment: str | None) -> str | None:
        """The one environment a target of this reference can be in, from `own_environment` (None: any)."""
        if self.scope == "any":
            return None
        return own_environment if self.scope == "same" else self.scope

    def in_scope(self, own_environment: str, target_environment: str | None) -> bool:
        if self.scope == "any":
            return True
        if self.scope == "same":
            return target_environment == own_environment
        return target_environment == self.scope

    def describe(self) -> dict:
        out = {
            "key": self.key,
            "target_type": self.target_type,
            "kind": self.kind,
            "reads": list(self.reads),
            "many": self.many,
            "scope": self.scope,
        }
        if self.by_value:
            out.update(by=self.by, normalize=list(self.normalize))
        if self.form != "nickname":
            out["form"] = self.form
        if self.inferred:
            out["inferred"] = self.inferred
        return out


RUNTIME_PATH = re.compile(r"^(?:/[A-Za-z0-9_.-]+)*/(?P<type>[a-z0-9][a-z0-9-]{0,62})/(?P<nickname>[^/]+)/runtime$")


def runtime_path_nickname(value: str, target_type: str) -> str:
    """`/iac/vpc/usekarma-dev/runtime` → `usekarma-dev` (a Parameter Store path of the target's runtime, as
    config repositories write it; any prefix). Another shape, or another type's path: the value itself."""
    match = RUNTIME_PATH.match(value)
    return match.group("nickname") if match and match.group("type") == target_type else value


@dataclass(frozen=True)
class ComponentType:
    name: str
    description: str
    config_schema: dict
    runtime_schema: dict
    action: str  # what a change upstream requires of this component
    references: tuple[Reference, ...] = ()
    source: Path | None = None  # the declaration file
    schema_source: Path | None = None  # the config schema file
    # runtime output → config key it must equal (`vpc_cidr: cidr`): a report that says otherwise is drift
    runtime_matches: tuple[tuple[str, str], ...] = ()
    inferred: bool = False  # declared by `karma types infer` at start, not by a reviewed file

    @cached_property
    def _config_validator(self):
        return jsonschema_.validator(self.config_schema)

    @cached_property
    def _runtime_validator(self):
        return jsonschema_.validator(self.runtime_schema)

    # cached: the impact facts read these for every impacted row
    @cached_property
    def config_keys(self) -> list[str]:
        return sorted(self.config_schema.get("properties", {}))

    @cached_property
    def closed(self) -> bool:
        """True when the schema refuses keys it does not declare (additionalProperties: false)."""
        return self.config_schema.get("additionalProperties") is False

    @cached_property
    def runtime_outputs(self) -> list[str]:
        return sorted(self.runtime_schema.get("properties", {}))

    @cached_property
    def required_keys(self) -> list[str]:
        return list(self.config_schema.get("required", []))

    @cached_property
    def _valid_configs(self) -> set[bytes]:
        """Configs this type found valid, by their exact value (:func:`_exact`). Validity is a function of
        the config alone, and the same config is validated again and again: a plan and its apply, a
        re-plan, every operation of a repeated set. jsonschema's walk of a VPC config is ~0.4 ms of a
        small plan (issue 21). Only a valid outcome is kept: a refusal walks the schema every time, for its
        messages. Bounded: emptied when full."""
        return set()

    def validate_config(self, config: Any) -> dict[str, list[str]]:
        """Field path → messages; empty when the config is valid for this type."""
        key = _exact(config)
        if key is not None and key in self._valid_configs:
            return {}
        found = {**jsonschema_.errors(self._config_validator, config), **_unstorable(config)}
        if not found and key is not None:
            if len(self._valid_configs) >= VALID_CONFIGS_KEPT:
                self._valid_configs.clear()
            self._valid_configs.add(key)
        return found

    def config_problems(self, config: Any) -> list[tuple[str, str, str]]:
        """(field, rule, message) of every way the config breaks the schema (drift reports name the rule)."""
        unstorable = [(p, "int64", m[0]) for p, m in _unstorable(config).items()]
        return jsonschema_.problems(self._config_validator, config) + unstorable

    def validate_runtime(self, runtime: Any) -> dict[str, list[str]]:
        return {**jsonschema_.errors(self._runtime_validator, runtime), **_unstorable(runtime)}

    def edges(self, component_id: str, config: dict, resolved: dict | None = None) -> list[dict]:
        """The dependency edges this config declares, derived from reference keys, to the targets
        `resolved` gives ({(key, value): target id}, from `references.resolve`). Without it a by-value
        reference is left out and a nickname stands for the id `<type>/<nickname>`."""
        out = []
        for ref in self.references:
            for value in ref.values(config):
                target = (resolved or {}).get((ref.key, value))
                if target is None and not ref.by_value:  # unresolved: the name itself (seed checks it)
                    target = f"{ref.target_type}/{value}"
                if target is not None:
                    out.append({"source": component_id, "target": target, "kind": ref.kind, "via": ref.key})
        return out

    def describe(self) -> dict:
        props = self.config_schema.get("properties", {})
        required = set(self.required_keys)
        return {
            "name": self.name,
            "description": self.description,
            "action": self.action,
            "config_keys": {
                name: {"type": _json_type(spec), "required": name in required} for name, spec in props.items()
            },
            "closed": self.closed,
            "runtime_outputs": self.runtime_outputs,
            "references": [r.describe() for r in self.references],
            "runtime_matches": dict(self.runtime_matches),
            "inferred": self.inferred,
            "config_schema": self.config_schema,
            "source": str(self.source) if self.source else None,
        }


VALID_CONFIGS_KEPT = 4096  # per type: 16-byte digests


def _exact(value: Any) -> bytes | None:
    """A key equal only for the very same value and types: the digest of its marshal (format 0: no
    references, no interning), which writes `true` and `1`, `1` and `1.0`, a list and a tuple, differently.
    Maps follow their key order, so an equal config in another order is only a miss. 16 bytes whatever the
    config's size (a remembered megabyte config costs no more to keep). None for what marshal cannot write
    (a str subclass, a date): that config is always validated."""
    try:
        return hashlib.blake2b(marshal.dumps(value, 0), digest_size=16).digest()
    except ValueError:
        return None


def _unstorable(data: Any) -> dict[str, list[str]]:
    """Integers a Neo4j property cannot hold (beyond 64 bits): plan, apply and runtime reports all
    validate here, so they agree on what can be stored."""
    return {p: ["Not a 64-bit integer (Neo4j cannot store it)."] for p in oversized_integers(data)}


def _json_type(spec: Any) -> str:
    if isinstance(spec, dict):
        kind = spec.get("type")
        if isinstance(kind, list):
            return "|".join(kind)
        if isinstance(kind, str):
            return kind
    return "any"


class Registry:
    """The active set of types. Loaded from the types directory on first use (or explicitly by the app
    at start, which stops on a broken file); `replace` swaps the whole set at once."""

    def __init__(self) -> None:
        self._types: dict[str, ComponentType] | None = None
        self._unpublished: dict[str, list[str]] = {}
        self._emitters: set[str] | None = None
        self._lock = threading.Lock()
        self.directory: Path | None = None
        # how a directory becomes types, and which directory by default: set by app.components.loader when
        # it is imported (the package imports it first), so this module never imports the loader back
        self.load_directory: Callable[[Path], list[ComponentType]] | None = None
        self.default_directory: Callable[[], Path] | None = None

    def _all(self) -> dict[str, ComponentType]:
        if self._types is None:
            with self._lock:
                if self._types is None:
                    directory = self.default_directory()
                    self._set(self.load_directory(directory), directory)
        return self._types  # type: ignore[return-value]

    def _set(self, types: list[ComponentType], directory: Path | None) -> None:
        self._types = {t.name: t for t in types}
        self._unpublished = {}
        self._emitters = None
        self.directory = directory

    def load(self, directory: Path) -> list[str]:
        """Load `directory` strictly (TypeFileError on any problem) and make it the active set."""
        types = self.load_directory(Path(directory))
        with self._lock:
            self._set(types, Path(directory))
        return self.names()

    def replace(self, types: list[ComponentType], directory: Path | None = None) -> None:
        with self._lock:
            self._set(list(types), directory)

    def snapshot(self) -> tuple[list[ComponentType], Path | None]:
        return list(self._all().values()), self.directory

    def register(self, ctype: ComponentType) -> ComponentType:
        types = self._all()
        if ctype.name in types:
            raise ValueError(f"component type {ctype.name!r} registered twice")
        self.replace([*types.values(), ctype], self.directory)
        return ctype

    def get(self, name: str) -> ComponentType:
        try:
            return self._all()[name]
        except (KeyError, TypeError):
            raise UnknownType(name) from None

    def names(self) -> list[str]:
        return sorted(self._all())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._all()

    def emitters(self) -> set[str]:
        """Types with an emits_runtime_to reference (impact follows one emits hop per path)."""
        if self._emitters is None:
            self._emitters = emitters_of(self._all().values())
        return set(self._emitters)

    def unpublished_reads(self, name: str) -> list[str]:
        """Outputs this type reads from providers whose types do not publish them."""
        if name not in self._unpublished:
            self._unpublished[name] = self._compute_unpublished(name)
        return list(self._unpublished[name])

    def _compute_unpublished(self, name: str) -> list[str]:
        ctype = self.get(name)
        missing = []
        for ref in ctype.references:
            if ref.target_type not in self:
                continue
            published = set(self.get(ref.target_type).runtime_outputs)
            missing += [f"{ref.target_type}.{r}" for r in ref.reads if r not in published]
        return missing


def emitters_of(types) -> set[str]:
    return {t.name for t in types if any(r.kind == "emits_runtime_to" for r in t.references)}


registry = Registry()


def get_type(name: str) -> ComponentType:
    return registry.get(name)


def config_validator(type_name: str):
    """A registered type's config validator (None for a type there is not: the change's own refusal says it),
    for a YAML reader to judge a boolean it read against the schema (app.yaml_misreads.misread_booleans)."""
    return registry.get(type_name).validate_config if type_name in registry else None


def runtime_validator(type_name: str):
    """A registered type's runtime validator (None for a type there is not: the report's refusal says it)."""
    return registry.get(type_name).validate_runtime if type_name in registry else None


def parse_id(component_id: str) -> tuple[str | None, str, str]:
    """(environment or None, type, nickname) of an id: `<type>/<nickname>`, or environment-qualified
    `<environment>/<type>/<nickname>` (the config tree's own path; needed when one type/nickname exists
    in several environments, as aws-config's `serverless-site/strall-com` in dev and prod)."""
    parts = _id_parts(component_id)
    if len(parts) == 3 and parts[1] not in registry:  # `a/b/c` is no id: a qualified id names a known type
        raise ValueError(f"'<environment>/<type>/<nickname>': {parts[1]!r} is not a known component type")
    return id_shape(component_id)


def id_shape(component_id: str) -> tuple[str | None, str, str]:
    """(environment or None, type, nickname) of what has an id's shape, whichever types exist: what a
    client (the CLI, before sending anything) can check without the service's types. ValueError saying
    the shape otherwise."""
    parts = _id_parts(component_id)
    env = parts[0] if len(parts) == 3 else None
    ctype, nickname = parts[-2:]
    if (env is not None and not ID_PART.match(env)) or not ID_PART.match(ctype) or not NICKNAME.match(nickname):
        raise ValueError(
            "a component id is '<type>/<nickname>' or '<environment>/<type>/<nickname>' in lower "
            "case letters, digits, '-', '.', '_'"
        )
    if env is not None and nickname in PATH_WORDS:
        raise ValueError(
            f"a qualified id's nickname cannot be {nickname!r}: /components/{component_id} would read as the "
            f"{nickname} of {env}/{ctype} (nicknames {', '.join(sorted(PATH_WORDS))} are kept for the API's paths)"
        )
    return env, ctype, nickname


def _id_parts(component_id: str) -> list[str]:
    parts = component_id.split("/") if isinstance(component_id, str) else []
    if len(parts) not in (2, 3):
        raise ValueError("a component id is '<type>/<nickname>' or '<environment>/<type>/<nickname>'")
    return parts


def split_id(component_id: str) -> tuple[str, str]:
    """`serverless-site/karma-dev` (or `dev/serverless-site/karma-dev`) → ("serverless-site",
    "karma-dev"); ValueError if malformed."""
    _env, ctype, nickname = parse_id(component_id)
    return ctype, nickname


def name_key(type_name: str, nickname: str) -> str:
    """How a by-nickname reference names its target whatever the target's id: `<type>/<nickname>`."""
    return f"{type_name}/{nickname}"
