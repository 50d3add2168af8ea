"""Progress of long work (a seed, an import), reported from where the work really happens.

The work calls `report(phase, done, total)` as each batch lands (components written, edges written,
files read); whoever started it decides what that means — the CLI draws a bar at a terminal, everyone
else passes nothing. The default reports to nobody, so the pipeline and the graph layer never know who,
if anyone, is watching (and never import the CLI)."""

from __future__ import annotations

from collections.abc import Callable

Report = Callable[[str, int, int], None]  # (phase, done, total)


def silent(phase: str, done: int, total: int) -> None:
    """Nobody is watching."""


def batches(items: list, size: int) -> list[list]:
    """`items` in slices of `size` (one empty slice for no items: the statement still runs once)."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [[]]
