"""The bounds of a transition search are settings (KARMA_TRANSITION_*), each read at start within its
range: a bad value is refused naming the variable and the range — `karma serve` does not start — never a
search that runs unbounded, or a crash at the first POST /transitions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.settings import DEFAULT_TRANSITION_BOUNDS, TRANSITION_BOUNDS, Settings, SettingsError


@pytest.fixture
def clean_env(monkeypatch):
    for name, *_ in TRANSITION_BOUNDS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KARMA_REQUEST_DEADLINE", raising=False)
    return monkeypatch


def test_unset_bounds_are_the_documented_defaults(clean_env):
    assert dict(Settings.from_env().transition_bounds) == {
        "max_steps": 8,
        "max_seconds": 10.0,
        "max_simulated_plans": 16,
        "max_candidates": 5,
        "max_proposals": 3,
    }
    assert Settings().transition_bounds == DEFAULT_TRANSITION_BOUNDS


def test_a_bound_within_its_range_is_read(clean_env):
    clean_env.setenv("KARMA_TRANSITION_MAX_SIMULATED_PLANS", "40")
    clean_env.setenv("KARMA_TRANSITION_MAX_SECONDS", "2.5")
    bounds = dict(Settings.from_env().transition_bounds)
    assert bounds["max_simulated_plans"] == 40 and bounds["max_seconds"] == 2.5


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("KARMA_TRANSITION_MAX_STEPS", "17", "KARMA_TRANSITION_MAX_STEPS must be from 1 to 16, got '17'"),
        ("KARMA_TRANSITION_MAX_STEPS", "0", "KARMA_TRANSITION_MAX_STEPS must be from 1 to 16, got '0'"),
        ("KARMA_TRANSITION_MAX_SIMULATED_PLANS", "1", "KARMA_TRANSITION_MAX_SIMULATED_PLANS must be from 2 to 64"),
        ("KARMA_TRANSITION_MAX_SIMULATED_PLANS", "1000", "KARMA_TRANSITION_MAX_SIMULATED_PLANS must be from 2 to 64"),
        ("KARMA_TRANSITION_MAX_CANDIDATES", "21", "KARMA_TRANSITION_MAX_CANDIDATES must be from 1 to 20"),
        ("KARMA_TRANSITION_MAX_PROPOSALS", "-1", "KARMA_TRANSITION_MAX_PROPOSALS must be from 1 to 10"),
        ("KARMA_TRANSITION_MAX_SECONDS", "0.1", "KARMA_TRANSITION_MAX_SECONDS must be from 0.5 to 25.0"),
        ("KARMA_TRANSITION_MAX_SECONDS", "nan", "KARMA_TRANSITION_MAX_SECONDS must be from 0.5 to 25.0"),
        ("KARMA_TRANSITION_MAX_STEPS", "eight", "KARMA_TRANSITION_MAX_STEPS must be an integer, got 'eight'"),
    ],
)
def test_a_bound_out_of_its_range_is_refused_naming_it(clean_env, name, value, said):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert said in str(refused.value)


def test_the_time_bound_stays_below_the_request_deadline(clean_env):
    clean_env.setenv("KARMA_REQUEST_DEADLINE", "8")
    assert dict(Settings.from_env().transition_bounds)["max_seconds"] == 10.0  # the default is not the operator's
    clean_env.setenv("KARMA_TRANSITION_MAX_SECONDS", "8")
    with pytest.raises(SettingsError, match=r"KARMA_TRANSITION_MAX_SECONDS must be below the request deadline"):
        Settings.from_env()


def test_karma_serve_refuses_to_start_with_a_bad_bound(clean_env):
    from app.cli import main, serve

    def started(*_a):
        raise AssertionError("karma serve went on to claim its address")

    clean_env.setattr(serve, "_claim_address", started)
    clean_env.setenv("KARMA_TRANSITION_MAX_STEPS", "100")
    result = CliRunner().invoke(main, ["serve", "--bind", "127.0.0.1:1"])
    assert result.exit_code == 1, result.output
    assert "KARMA_TRANSITION_MAX_STEPS must be from 1 to 16, got '100'" in result.output
    assert "Traceback" not in result.output
