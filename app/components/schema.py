"""JSON Schema (draft 2020-12) validation of configs and runtime outputs, with errors people can act on.

A type's config schema is a plain JSON Schema file — the same files a config repository already keeps
(the `schemas/<type>.schema.json` of older usekarma/aws-config commits load unmodified). Validation is `jsonschema`'s
Draft202012Validator with a format checker that knows `cidr`; its errors are turned into
`{"<path>": ["<what is wrong>"]}`, one entry per offending field: a missing required key is named by
its own path (not its parent's), an unknown key likewise. Messages never echo the rejected value (a
config may hold secrets, and a hostile 5 000-character value has no business in an error).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match

DRAFT = "https://json-schema.org/draft/2020-12/schema"
FORMATS = FormatChecker()

JSON_TYPE_NAMES = {
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "string": "string",
    "array": "list",
    "object": "mapping type",
    "null": "null",
}


@FORMATS.checks("cidr", raises=ValueError)
def _cidr(value: Any) -> bool:
    """An IPv4/IPv6 network with no host bits set (`10.0.0.0/16`, not `10.0.0.1/16`)."""
    if not isinstance(value, str):
        return True
    ipaddress.ip_network(value, strict=True)
    return True


def check_schema(schema: Any) -> list[str]:
    """Problems with a schema document itself (empty when it is a valid draft 2020-12 schema)."""
    if not isinstance(schema, dict):
        return ["must be a JSON object (a JSON Schema)"]
    declared = schema.get("$schema")
    if declared is not None and declared.rstrip("#") != DRAFT:
        return [f"$schema must be {DRAFT!r} (draft 2020-12), not {declared!r}"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "<root>"
        return [f"not a valid JSON Schema at {where}: {exc.message}"]
    return []


def validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FORMATS)


def errors(compiled: Draft202012Validator, data: Any) -> dict[str, list[str]]:
    """Field path → messages; empty when `data` is valid."""
    out: dict[str, list[str]] = {}
    for path, _rule, message in problems(compiled, data):
        messages = out.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    return out


def problems(compiled: Draft202012Validator, data: Any) -> list[tuple[str, str, str]]:
    """(field path, the schema keyword that refuses it, message) for each problem; never the value."""
    if not isinstance(data, dict):
        return [("_schema", "type", "must be a JSON object")]
    out = []
    for error in sorted(compiled.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        for path, message in _describe(error):
            item = (path or "_schema", str(error.validator), message)
            if item not in out:
                out.append(item)
    return out


def _path(parts) -> str:
    return ".".join(str(p) for p in parts)


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """One jsonschema error → (field path, message) pairs, naming the field the problem is about."""
    base = list(error.absolute_path)
    kind, value = error.validator, error.validator_value
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [(_path(base + [k]), "Missing data for required field.") for k in value if k not in present]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        extra = _unexpected(error)
        if extra:
            return [(_path(base + [k]), "Unknown field.") for k in extra]
    if kind == "type":
        names = value if isinstance(value, list) else [value]
        return [(_path(base), "Not a valid " + " or ".join(JSON_TYPE_NAMES.get(n, n) for n in names) + ".")]
    if kind == "format":
        return [(_path(base), _format_message(value, error))]
    if kind in ("oneOf", "anyOf") and error.context:
        best = best_match(error.context)
        return [(p, f"matches none of the allowed shapes: {m}") for p, m in _describe(best)]
    return [(_path(base), _MESSAGES.get(kind, _generic)(value))]


def _unexpected(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    return sorted(k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns))


def _format_message(fmt: str, error: ValidationError) -> str:
    if fmt == "cidr":
        cause = error.cause
        return f"Not a valid CIDR block: {cause}." if cause else "Not a valid CIDR block."
    return f"Not a valid {fmt}."


def _generic(value: Any) -> str:
    return "Does not satisfy the schema."


_MESSAGES = {
    "minimum": lambda v: f"Must be greater than or equal to {v}.",
    "maximum": lambda v: f"Must be less than or equal to {v}.",
    "exclusiveMinimum": lambda v: f"Must be greater than {v}.",
    "exclusiveMaximum": lambda v: f"Must be less than {v}.",
    "minLength": lambda v: f"Shorter than minimum length {v}.",
    "maxLength": lambda v: f"Longer than maximum length {v}.",
    "minItems": lambda v: f"Must have at least {v} items.",
    "maxItems": lambda v: f"Must have at most {v} items.",
    "uniqueItems": lambda v: "Items must be unique.",
    "minProperties": lambda v: f"Must have at least {v} keys.",
    "maxProperties": lambda v: f"Must have at most {v} keys.",
    "pattern": lambda v: f"Does not match the pattern {v}.",
    "enum": lambda v: "Must be one of: " + ", ".join(str(c) for c in v) + ".",
    "const": lambda v: f"Must be {v!r}.",
    "not": lambda v: "Is a value the schema forbids.",
    "multipleOf": lambda v: f"Must be a multiple of {v}.",
    "contains": lambda v: "Does not contain a required item.",
    "propertyNames": lambda v: "Has a key the schema does not allow.",
    "additionalProperties": lambda v: "Unknown field.",
    "dependentRequired": lambda v: "Missing a key this key requires.",
    "false": lambda v: "Not allowed.",
}
