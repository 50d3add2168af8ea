"""Component types: config schemas, references (edges), runtime outputs, required actions."""

from app.components.registry import (
    EDGE_KINDS,
    ComponentType,
    Reference,
    UnknownType,
    get_type,
    registry,
    split_id,
)
from app.components import types as _types  # noqa: F401  (registers the built-in types)

__all__ = [
    "EDGE_KINDS",
    "ComponentType",
    "Reference",
    "UnknownType",
    "get_type",
    "registry",
    "split_id",
]
