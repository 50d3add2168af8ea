"""Strict JSON fields for the API's own marshmallow schemas: "3" is not an integer and 1 is not true.

(Component configs are validated by their types' JSON Schemas, not here.)
"""

from __future__ import annotations

from marshmallow import ValidationError, fields


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what a Neo4j integer holds


class StrictInteger(fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValidationError("Not a 64-bit integer (Neo4j cannot store it).")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """`true` or `false`, as JSON writes them. marshmallow's Boolean also takes 1, 0, "yes", "off", "t"…,
    so a body's `"enabled": "no"` was read as False and `"all_failed": 1` as True, where the schema the
    API documents says boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean: true or false.")
        return value


def oversized_integers(value, path: str = "") -> list[str]:
    """Paths of every integer in a JSON value that a Neo4j property cannot hold (beyond 64 bits).

    Iterative, so a deep value cannot exhaust the stack (bodies are depth-limited anyway)."""
    found, stack = [], [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            stack += [(f"{where}.{k}" if where else str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [(f"{where}[{i}]", v) for i, v in enumerate(item)]
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
            found.append(where)
    return sorted(found)
