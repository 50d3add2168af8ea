"""The drift figures' code on a tiny generated tree (issue 22), against the test Neo4j and the real app:
the import --partial finds exactly the drift planted, and GET /drift is measured. No timing asserted."""

from __future__ import annotations

import pytest

from karma_tools.bench import drift, generator, report
from tests.conftest import wipe

pytestmark = pytest.mark.integration

SIZE = len(generator.probe_environment()) + 200


def test_a_partial_import_finds_exactly_the_drift_planted_and_get_drift_is_measured(make_app, driver, repo, tmp_path):
    app = make_app()
    tokens = app.extensions["karma"].tokens

    def reset():
        wipe(driver)
        repo.apply_schema()

    out = drift.figures(
        repo, reset, app.test_client(), lambda: tokens.create("bench@x", "viewer")[0], (SIZE,), 42, tmp_path, samples=2
    )
    row = out["imports"][str(SIZE)]
    assert row["drift_planted"] == 2 * max(1, SIZE // 100) and row["drift_found"] == row["drift_planted"]
    assert row["found_equals_planted"] and row["loaded"] == SIZE - row["drift_planted"]
    assert out["get_drift"]["n"] == 2 and out["get_drift"]["entries"] == row["drift_planted"]
    text = "\n".join(report._drift_lines(out))
    assert f"| {SIZE:,} | {row['loaded']:,} |" in text and "GET /drift" in text


def test_planting_touches_only_leaves():
    components, planted = drift.plant(generator.generate(SIZE, 7), 7)
    targets = {e["target"] for e in generator.edges(generator.generate(SIZE, 7))}
    assert not (set(planted["invalid"]) | set(planted["dangling"])) & targets
    bad = [c for c in components if drift.PLANTED_KEY in c["config"]]
    assert sorted(c["id"] for c in bad) == planted["invalid"]
