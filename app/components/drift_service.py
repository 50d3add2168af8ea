"""Reading drift (GET /drift, `karma drift`, the console page, the metric): what the graph stores."""

from __future__ import annotations

from app.components import drift
from app.components.service import environment_warnings


class DriftService:
    def __init__(self, repo):
        self.repo = repo

    def report(self, kind: str | None = None, component: str | None = None, environment: str | None = None) -> dict:
        """`total` and `entries`: what the filters select; `counts`: every kind's, `kind` left out — a
        report filtered to one kind still says how much of the others there is (it said "0 contract"
        beside 6 contract entries it did not list). `environment` is read as such (the graph's read of that
        environment alone); an empty answer for an environment no component lives in says so in `warnings`,
        as the component list does (a typo, 'prdd', is not "no drift there")."""
        stored = self.repo.drift(environment, component)
        out = drift.report(stored["components"], stored["refused"], stored.get("unwritten"))
        if kind or component:
            scoped = [
                e
                for e in out["entries"]
                if (not component or e["component"] == component)
                and (not environment or not component or _of_environment(e, environment))
            ]
            counts = {k: sum(1 for e in scoped if e["kind"] == k) for k in drift.KINDS}
            entries = [e for e in scoped if not kind or e["kind"] == kind]
            out = {"total": len(entries), "counts": counts, "entries": entries}
        warnings = environment_warnings(self.repo, environment) if not out["entries"] else []
        return {**out, "warnings": warnings} if warnings else out


def _of_environment(entry: dict, environment: str) -> bool:
    """An entry of one component's report is of `environment` (both filters given): its own environment, or
    for a record that has none, its file's (`iac/<environment>/…`), as the environment's read selects."""
    own = entry.get("environment")
    return own == environment if own is not None else (entry.get("file") or "").startswith(f"iac/{environment}/")
