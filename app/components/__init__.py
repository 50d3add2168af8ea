"""Component types: config schemas (JSON Schema files), references (edges), runtime outputs, actions.

The types are data, read from the types directory (`KARMA_TYPES_DIR`, default `types/`): see
`app.components.loader` for the file format and `app.components.references` for how references resolve.
"""

from app.components.loader import TypeFileError, load_directory, validate_directory
from app.components.registry import (
    EDGE_KINDS,
    MAX_SIBLINGS,
    ComponentType,
    Reference,
    UnknownType,
    get_type,
    name_key,
    parse_id,
    registry,
    split_id,
)

__all__ = [
    "EDGE_KINDS",
    "MAX_SIBLINGS",
    "ComponentType",
    "Reference",
    "TypeFileError",
    "UnknownType",
    "get_type",
    "load_directory",
    "name_key",
    "parse_id",
    "registry",
    "split_id",
    "validate_directory",
]
