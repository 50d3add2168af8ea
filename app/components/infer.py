"""Type declarations inferred from a folder of JSON Schemas, by a config repository's own conventions.

A contract kept as JSON Schemas (`schemas/<type>.schema.json`, as older usekarma/aws-config commits had it;
its HEAD has none: docs/drift.md "A tree without schemas") says nothing of references; the references its
configs make are written by convention, and this module reads them back (`karma types infer DIR` writes
the result as `<type>.yaml` files for a person to review; the service infers the same at start for a
schema that has no declaration, and logs it):

- `<type>_nickname` / `<type>_nicknames` → depends_on the component of that type by nickname;
- `<type>_runtime_path` whose value is `/iac/<type>/<nickname>/runtime` → consumes_runtime_from that
  component (form `runtime-path`);
- a key ending in another type's identifying attribute (`route53_zone_name` → the route53-zone whose
  `zone_name` it is) → by value, marked `inferred: by-value` because only a person can confirm it;
- the same keys nested in maps of objects are found by path (`functions.*.vpc_nickname`).

Every inferred declaration says what was guessed (`review` notes): the action on an upstream change is
defaulted, by-value references and their scope are guesses. Pure: schemas in, declaration documents out.
"""

from __future__ import annotations

from typing import Any

DEFAULT_ACTION = "redeploy"
SCHEMA_SUFFIX = ".schema.json"
NESTED_DEPTH = 4  # how deep maps of objects are followed (`functions.*.vpc_nickname` is depth 3)


def type_name_of(filename: str) -> str | None:
    """`vpc.schema.json` → `vpc`; another file name → None."""
    return filename[: -len(SCHEMA_SUFFIX)] if filename.endswith(SCHEMA_SUFFIX) else None


def _subschemas(schema: Any) -> list[dict]:
    """A schema and the branches that also describe the same object (allOf/anyOf/oneOf/if-then-else)."""
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for word in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(word) or []:
            out += _subschemas(branch)
    for word in ("then", "else"):
        out += _subschemas(schema.get(word))
    return out


def properties(schema: Any) -> dict[str, Any]:
    """Every property the object a schema describes may have (its branches included), first wins."""
    out: dict[str, Any] = {}
    for sub in _subschemas(schema):
        for name, spec in (sub.get("properties") or {}).items():
            out.setdefault(name, spec)
    return out


def _map_values(schema: Any) -> dict | None:
    """The schema of a map's values (`additionalProperties: {...}`), when the schema is a map of objects."""
    for sub in _subschemas(schema):
        values = sub.get("additionalProperties")
        if isinstance(values, dict) and (properties(values) or values.get("type") == "object"):
            return values
    return None


def key_paths(schema: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """(path, schema) of every key, nested objects and maps included: `functions.*.vpc_nickname`."""
    out = []
    for name, spec in properties(schema).items():
        path = f"{prefix}{name}"
        out.append((path, spec))
        if depth < NESTED_DEPTH:
            out += key_paths(spec, f"{path}.", depth + 1)
            values = _map_values(spec)
            if values is not None:
                out += key_paths(values, f"{path}.*.", depth + 1)
    return out


def schema_at(schema: Any, path: str) -> Any | None:
    """The schema of the key at `path` (`functions.*.vpc_nickname`), or None when the schema has none."""
    return dict(key_paths(schema)).get(path)


def _is_list(spec: Any) -> bool:
    return any(sub.get("type") == "array" for sub in _subschemas(spec))


def identifying_attributes(schema: Any) -> list[str]:
    """A type's attributes other components may name it by: required top-level strings called `*name`."""
    props = properties(schema)
    required = {k for sub in _subschemas(schema) for k in sub.get("required") or []}
    return sorted(
        k
        for k in required
        if k in props and k.endswith("name") and any(sub.get("type") == "string" for sub in _subschemas(props[k]))
    )


def _by_convention(leaf: str, types: dict[str, str]) -> tuple[str, str] | None:
    """(target type, form) for a `<type>_nickname(s)` or `<type>_runtime_path` key name."""
    for suffix, form in (("_nicknames", "nickname"), ("_nickname", "nickname"), ("_runtime_path", "runtime-path")):
        if leaf.endswith(suffix) and (target := types.get(leaf[: -len(suffix)])):
            return target, form
    return None


def _by_value(owner: str, leaf: str, schemas: dict[str, dict]) -> tuple[str, str] | None:
    """(target type, attribute) for a key like `route53_zone_name`: it ends in the target's identifying
    attribute (`zone_name`) and its words name the target (`route53`, `zone`)."""
    words = set(leaf.split("_"))
    found = []
    for name, schema in schemas.items():
        if name == owner or not set(name.replace("-", "_").split("_")) <= words:
            continue
        found += [(name, attr) for attr in identifying_attributes(schema) if leaf.endswith(f"_{attr}")]
    return found[0] if len(found) == 1 else None


def _dns(attribute: str) -> bool:
    return any(word in attribute for word in ("zone", "domain", "dns", "fqdn"))


def infer(schemas: dict[str, dict]) -> dict[str, dict]:
    """{type name: declaration document} for every schema: the document `karma types infer` writes, with
    `review`: the notes a person should read (what was defaulted or guessed)."""
    underscored = {name.replace("-", "_"): name for name in schemas}
    out = {}
    for name, schema in sorted(schemas.items()):
        refs, review = [], [f"action: defaulted to {DEFAULT_ACTION!r} (what a change upstream requires of it)"]
        for path, spec in key_paths(schema):
            leaf = path.rsplit(".", 1)[-1]
            convention = _by_convention(leaf, underscored)
            if convention:
                target, form = convention
                kind = "consumes_runtime_from" if form == "runtime-path" else "depends_on"
                ref = {"key": path, "target": target, "kind": kind, "inferred": "convention"}
                if form != "nickname":
                    ref["form"] = form
                refs.append(ref)
                continue
            by_value = _by_value(name, leaf, schemas) if "*" not in path else None
            if by_value and not _is_list(spec):
                target, attribute = by_value
                ref = {"key": path, "target": target, "kind": "depends_on", "by": attribute, "scope": "any"}
                if _dns(attribute):
                    ref["normalize"] = ["trailing-dot"]
                refs.append({**ref, "inferred": "by-value"})
                review.append(
                    f"references: {path} → {target} by its {attribute} (inferred by value, scope any): confirm"
                )
        doc = {
            "description": str(schema.get("title") or schema.get("description") or f"{name} (inferred)"),
            "action": DEFAULT_ACTION,
            "inferred": True,
            "review": review,
            "references": refs,
        }
        out[name] = doc
    return out


def unused_schemas(declared: dict[str, Any], schema_names: list[str]) -> list[str]:
    """Schema files (type names) that no declaration covers: they are inferred, never ignored."""
    return sorted(set(schema_names) - set(declared))
