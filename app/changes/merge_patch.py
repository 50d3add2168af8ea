"""JSON Merge Patch (RFC 7386): a value sets a key, null removes it, objects merge recursively."""

from __future__ import annotations

import copy
from typing import Any


def apply(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply(result.get(key), value)
    return result


def create(source: dict, target: dict) -> dict:
    """The merge patch that turns `source` into `target` (objects recurse, everything else replaces)."""
    patch: dict = {}
    for key in source:
        if key not in target:
            patch[key] = None
    for key, value in target.items():
        if key not in source:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(source[key], dict):
            inner = create(source[key], value)
            if inner:
                patch[key] = inner
        elif value != source[key] or type(value) is not type(source[key]):
            patch[key] = copy.deepcopy(value)
    return patch
