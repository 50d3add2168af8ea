"""Reading drift (GET /drift, `karma drift`, the console page, the metric): what the graph stores."""

from __future__ import annotations

from app.components import drift


class DriftService:
    def __init__(self, repo):
        self.repo = repo

    def report(self, kind: str | None = None, component: str | None = None) -> dict:
        """`total` and `entries`: what the filters select; `counts`: every kind's, `kind` left out — a
        report filtered to one kind still says how much of the others there is (it said "0 contract"
        beside 6 contract entries it did not list)."""
        stored = self.repo.drift()
        out = drift.report(stored["components"], stored["refused"], stored.get("unwritten"))
        if kind or component:
            scoped = [e for e in out["entries"] if not component or e["component"] == component]
            counts = {k: sum(1 for e in scoped if e["kind"] == k) for k in drift.KINDS}
            entries = [e for e in scoped if not kind or e["kind"] == kind]
            out = {"total": len(entries), "counts": counts, "entries": entries}
        return out
