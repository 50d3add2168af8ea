"""JSON Merge Patch (RFC 7386): a value sets a key, null removes it, objects merge recursively."""

from __future__ import annotations

import copy
from typing import Any

from app.graph.codec import same_value


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


def touches(patch: dict, before: Any, after: Any) -> bool:
    """Whether merge patch `patch` (made from `before`, or applied to `after`) changes a key — at any depth —
    that the change from `before` to `after` changed: the two changes overlap. Values compared exactly
    (`1`, `1.0` and `true` are three values). A seed's update against the last Karma change
    (app.import_guard), a Karma write-back against a commit made in the tree (app.configstore.handler)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    missing = object()
    for key, value in patch.items():
        old, new = before.get(key, missing), after.get(key, missing)
        if old is not missing and new is not missing and same_value(old, new):
            continue  # the change left this key alone
        if isinstance(value, dict) and isinstance(old, dict) and isinstance(new, dict):
            if touches(value, old, new):
                return True
            continue
        return True
    return False
