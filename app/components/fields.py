"""Strict JSON fields: a config is JSON written by people, so "3" is not an integer and 1 is not true."""

from __future__ import annotations

import ipaddress

from marshmallow import ValidationError, fields, validate


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what a Neo4j integer holds


class StrictInteger(fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValidationError("Not a 64-bit integer (Neo4j cannot store it).")
        return super()._deserialize(value, attr, data, **kwargs)


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


class StrictBoolean(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class Cidr(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValidationError(f"Not a valid CIDR block: {exc}.") from None
        return text


class AnyJson(fields.Raw):
    """Any JSON value (used for free-form maps such as tags or root_records)."""


def Str(**kw):  # noqa: N802 - reads like a type in declarations
    return fields.String(**kw)


def Int(minimum=None, maximum=None, **kw):  # noqa: N802
    if minimum is not None or maximum is not None:
        kw["validate"] = validate.Range(min=minimum, max=maximum)
    return StrictInteger(**kw)


def Bool(**kw):  # noqa: N802
    return StrictBoolean(**kw)


def StrList(**kw):  # noqa: N802
    return fields.List(fields.String(), **kw)


def OneOf(*choices, **kw):  # noqa: N802
    return fields.String(validate=validate.OneOf(choices), **kw)


def Tags(**kw):  # noqa: N802
    return fields.Dict(keys=fields.String(), values=fields.String(), **kw)


def Nickname(**kw):  # noqa: N802
    return fields.String(validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,127}$",
                                                  error="Not a valid nickname."), **kw)


def NicknameList(**kw):  # noqa: N802
    return fields.List(Nickname(), **kw)
