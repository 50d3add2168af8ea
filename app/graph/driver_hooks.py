"""The driver's private functions Karma wraps (app/graph/bolt_deadline.py, app/graph/bolt_times.py): each
wrapped once however many drivers a process opens, and a driver without one refused at start — the driver
is pinned in pyproject.toml — rather than silently running without it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_WRAPPED = "_karma_wrapped"


def wrap(owner: Any, name: str, wrapper: Callable[[Callable], Callable], *, missing: str) -> None:
    """`owner.name` replaced by `wrapper(original)`; idempotent. RuntimeError(`missing`) when there is none."""
    original = getattr(owner, name, None)
    if original is None:
        raise RuntimeError(missing)
    if getattr(original, _WRAPPED, False):
        return
    hooked = functools.wraps(original)(wrapper(original))
    setattr(hooked, _WRAPPED, True)
    setattr(owner, name, hooked)


def wrapped(owner: Any, name: str) -> bool:
    return bool(getattr(getattr(owner, name, None), _WRAPPED, False))
