"""Loading, hot reload (explicit and on the next evaluation), status, and the `karma rules` commands."""

from __future__ import annotations

import logging
import os
import time

import pytest
from click.testing import CliRunner

from app.cli.rules import rules_cli
from app.policy import PolicyEngine, RuleFileError
from test_policy_support import facts, impacted, rule_yaml, write_rules

GOOD = rule_yaml("change: {type: subnet}", rule_id="subnet-watch", message="watching {change.component}")
SECOND = rule_yaml("impacted: {type: ec2-instance}", rule_id="instance-watch", effect="block", message="{impacted.id}")
BROKEN = GOOD.replace("type: subnet", "typ: subnet")


def touch_later(path):
    """Make sure the edit changes the mtime even on coarse clocks."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_load_and_status(tmp_path):
    write_rules(tmp_path, GOOD)
    write_rules(tmp_path, SECOND, "b.yaml")
    engine = PolicyEngine(tmp_path)
    assert engine.rule_count == 0 and engine.status()["fingerprint"] is None
    engine.load()
    status = engine.status()
    assert engine.rule_count == 2 == status["rules"]
    assert status["rule_ids"] == ["instance-watch", "subnet-watch"]
    assert status["files"] == ["b.yaml", "rules.yaml"]
    assert len(status["fingerprint"]) == 16 and status["loaded_at"] and status["last_error"] is None
    assert status["ruleset"].startswith("karma_")


def test_load_refuses_a_broken_directory(tmp_path):
    write_rules(tmp_path, BROKEN)
    with pytest.raises(RuleFileError, match=r"rules\.yaml: rules\[0\]\.when\.change\.typ: unknown field"):
        PolicyEngine(tmp_path).load()


def test_the_fingerprint_is_the_content_not_the_mtime(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_rules(a, GOOD)
    write_rules(b, GOOD)
    touch_later(b / "rules.yaml")
    ea, eb = PolicyEngine(a), PolicyEngine(b)
    ea.load()
    eb.load()
    assert ea.status()["fingerprint"] == eb.status()["fingerprint"]


def test_reload_keeps_the_last_good_rule_set_and_logs_at_error(tmp_path, caplog):
    write_rules(tmp_path, GOOD)
    engine = PolicyEngine(tmp_path)
    engine.load()
    good_fingerprint = engine.status()["fingerprint"]
    write_rules(tmp_path, BROKEN)
    with caplog.at_level(logging.ERROR, logger="karma.policy"):
        report = engine.reload(force=True)
    assert report["ok"] is False
    assert (
        report["error"] == f"{tmp_path / 'rules.yaml'}: rules[0].when.change.typ: unknown field (did you mean 'type'?)"
    )
    assert report["active_fingerprint"] == good_fingerprint and report["rules"] == 1
    errors = [r for r in caplog.records if r.name == "karma.policy" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "keeping the last good rule set" in errors[0].getMessage()
    assert "rules[0].when.change.typ" in errors[0].getMessage()
    # still serving the old rules
    assert [d.rule_id for d in engine.evaluate(facts())] == ["subnet-watch"]
    assert engine.status()["last_error"] == report["error"]
    # fixed: reloads, and the error clears
    write_rules(tmp_path, GOOD.replace("subnet-watch", "subnet-watch-2"))
    report = engine.reload(force=True)
    assert report["ok"] is True and report["changed"] is True and report["rules"] == 1
    assert report["active_fingerprint"] != good_fingerprint
    assert engine.status()["last_error"] is None
    assert [d.rule_id for d in engine.evaluate(facts())] == ["subnet-watch-2"]


def test_reload_without_force_skips_unchanged_files(tmp_path):
    write_rules(tmp_path, GOOD)
    engine = PolicyEngine(tmp_path)
    engine.load()
    assert engine.reload(force=False)["changed"] is False
    assert engine.reload(force=True)["changed"] is False  # re-read, same content
    write_rules(tmp_path, SECOND, "b.yaml")
    report = engine.reload(force=False)
    assert report["ok"] and report["changed"] and report["rules"] == 2


def test_evaluate_picks_up_an_edit_without_a_signal(tmp_path):
    write_rules(tmp_path, GOOD)
    engine = PolicyEngine(tmp_path, check_interval=0.05)
    engine.load()
    rows = [impacted()]
    assert [d.rule_id for d in engine.evaluate(facts(rows=rows))] == ["subnet-watch"]
    write_rules(tmp_path, SECOND, "b.yaml")
    time.sleep(0.06)
    assert [d.rule_id for d in engine.evaluate(facts(rows=rows))] == ["instance-watch", "subnet-watch"]
    (tmp_path / "b.yaml").unlink()
    time.sleep(0.06)
    assert [d.rule_id for d in engine.evaluate(facts(rows=rows))] == ["subnet-watch"]


def test_maybe_reload_is_throttled_and_logs_a_broken_edit_once(tmp_path, caplog):
    write_rules(tmp_path, GOOD)
    engine = PolicyEngine(tmp_path)  # default: at most one check per second
    engine.load()
    write_rules(tmp_path, BROKEN)
    touch_later(tmp_path / "rules.yaml")
    engine.maybe_reload()
    assert engine.status()["last_error"] is None  # within the second after load: not looked at yet
    engine._next_check = 0  # the second has passed
    with caplog.at_level(logging.ERROR, logger="karma.policy"):
        for _ in range(5):
            engine.maybe_reload()
            engine._next_check = 0
            assert [d.rule_id for d in engine.evaluate(facts())] == ["subnet-watch"]
    assert engine.status()["last_error"].endswith("unknown field (did you mean 'type'?)")
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_a_deleted_directory_keeps_the_rules(tmp_path, caplog):
    directory = tmp_path / "rules"
    write_rules(directory, GOOD)
    engine = PolicyEngine(directory, check_interval=0)
    engine.load()
    (directory / "rules.yaml").unlink()
    directory.rmdir()
    with caplog.at_level(logging.ERROR, logger="karma.policy"):
        assert [d.rule_id for d in engine.evaluate(facts())] == ["subnet-watch"]
    assert engine.status()["last_error"] == f"{directory}: rules directory not found"


def test_an_empty_directory_loads_no_rules(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="karma.policy"):
        engine = PolicyEngine(tmp_path)
        engine.load()
    assert engine.rule_count == 0 and engine.evaluate(facts()) == []
    assert any("no policy rules" in r.getMessage() for r in caplog.records)


def test_disabled_rules_are_listed_not_evaluated(tmp_path):
    write_rules(tmp_path, GOOD.replace("    effect: warn\n", "    effect: warn\n    enabled: false\n"))
    engine = PolicyEngine(tmp_path)
    engine.load()
    assert engine.rule_count == 0 and engine.status()["disabled"] == ["subnet-watch"]
    assert engine.evaluate(facts()) == []


# ------------------------------------------------------------------------------------------ CLI
def test_cli_validate_good(tmp_path):
    write_rules(tmp_path, GOOD)
    write_rules(tmp_path, SECOND, "b.yaml")
    result = CliRunner().invoke(rules_cli, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"{tmp_path}: OK, 2 rules (0 reject, 1 block, 0 require_approval, 1 warn) in 2 file(s), fingerprint "
    )


def test_cli_validate_broken_prints_every_error_and_exits_1(tmp_path):
    write_rules(tmp_path, BROKEN)
    write_rules(tmp_path, SECOND.replace("effect: block", "effect: nope"), "b.yaml")
    result = CliRunner().invoke(rules_cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'b.yaml'}: rules[0].effect: unknown effect 'nope'" in result.output
    assert f"{tmp_path / 'rules.yaml'}: rules[0].when.change.typ: unknown field" in result.output
    assert "2 problem(s)" in result.output


def test_cli_validate_defaults_to_karma_rules_dir(tmp_path, monkeypatch):
    write_rules(tmp_path, GOOD)
    monkeypatch.setenv("KARMA_RULES_DIR", str(tmp_path))
    result = CliRunner().invoke(rules_cli, ["validate"])
    assert result.exit_code == 0 and "OK, 1 rules" in result.output


def test_cli_list(tmp_path):
    write_rules(tmp_path, GOOD)
    write_rules(tmp_path, SECOND, "b.yaml")
    result = CliRunner().invoke(rules_cli, ["list", str(tmp_path)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["RULE", "EFFECT", "SCOPE", "FILE", "DESCRIPTION"]  # a table, as every list's
    assert lines[2].split()[:4] == ["instance-watch", "block", "impacted", "b.yaml"]
    assert lines[3].split()[:4] == ["subnet-watch", "warn", "change", "rules.yaml"]
    result = CliRunner().invoke(rules_cli, ["list", "--json", str(tmp_path)])
    assert [r["id"] for r in __import__("json").loads(result.output)["items"]] == ["instance-watch", "subnet-watch"]


def test_reload_from_a_signal_handler_inside_an_evaluation_defers_instead_of_deadlocking(tmp_path, monkeypatch):
    from app.policy import host

    write_rules(tmp_path, GOOD)
    engine = PolicyEngine(tmp_path)
    engine.load()
    write_rules(tmp_path, SECOND, "b.yaml")
    reports = []
    real_run = host.run

    def run_interrupted(name, flat):  # as if SIGHUP arrived while this thread holds the engine lock
        with host._Locked():
            reports.append(engine.reload(force=True))
        return real_run(name, flat)

    monkeypatch.setattr(host, "run", run_interrupted)
    assert [d.rule_id for d in engine.evaluate(facts(rows=[impacted()]))] == ["subnet-watch"]
    monkeypatch.setattr(host, "run", real_run)
    assert reports[0]["deferred"] is True and reports[0]["rules"] == 1
    assert [d.rule_id for d in engine.evaluate(facts(rows=[impacted()]))] == ["instance-watch", "subnet-watch"]


def test_workers_keep_one_last_good_rule_set_through_a_broken_edit(tmp_path):
    """Two workers (engines) of one rules directory. Worker 1 reloads a new good edit; a broken edit is
    saved before worker 2 has read it. Worker 2 kept its older set, so identical plans got different
    verdicts by worker; now it adopts the newest good set a worker loaded (the error stays on record)."""
    from app.policy.last_good import LastGood

    rules, shared = tmp_path / "rules", tmp_path / "last-good"
    rules.mkdir()
    write_rules(rules, GOOD)
    one, two = (PolicyEngine(rules, last_good=LastGood(shared)) for _ in range(2))
    one.load()
    two.load()
    write_rules(rules, SECOND, "b.yaml")  # a good edit: only worker 1 reads it
    assert one.reload()["changed"] and one.rule_count == 2 and two.rule_count == 1
    broken = write_rules(rules, BROKEN)
    touch_later(broken)
    report = two.reload()
    assert report["ok"] is False and report["active_fingerprint"] == one.fingerprint
    assert two.rule_count == 2 and two.status()["last_error"]  # the same rules as worker 1, the error said
    assert one.reload()["ok"] is False and one.fingerprint == two.fingerprint
    assert [d.rule_id for d in two.evaluate(facts(rows=[impacted("ec2-instance/x")]))] == [
        "instance-watch",
        "subnet-watch",
    ]
    alone = PolicyEngine(rules)  # without a shared copy (unit tests, a read-only disk): its own, as before
    assert alone.last_good is None


def test_the_shared_copy_is_not_kept_when_the_files_moved_on(tmp_path):
    from app.policy import loader
    from app.policy.last_good import LastGood

    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, GOOD)
    shared = LastGood(tmp_path / "last-good")
    shared.save(rules, "0000000000000000")  # not the files' fingerprint: they changed since the compile
    assert shared.current() is None
    sources, _ = loader.read_sources(rules)
    shared.save(rules, loader.fingerprint(sources))
    fingerprint, directory = shared.current()
    assert fingerprint == loader.fingerprint(sources) and (directory / "rules.yaml").read_text() == GOOD
