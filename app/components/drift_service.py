"""Reading drift (GET /drift, `karma drift`, the console page, the metric): what the graph stores."""

from __future__ import annotations

from app.components import drift


class DriftService:
    def __init__(self, repo):
        self.repo = repo

    def report(self, kind: str | None = None, component: str | None = None) -> dict:
        stored = self.repo.drift()
        out = drift.report(stored["components"], stored["refused"])
        if kind or component:
            entries = [
                e
                for e in out["entries"]
                if (not kind or e["kind"] == kind) and (not component or e["component"] == component)
            ]
            counts = {k: sum(1 for e in entries if e["kind"] == k) for k in drift.KINDS}
            out = {"total": len(entries), "counts": counts, "entries": entries}
        return out
