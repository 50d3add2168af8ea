"""`karma … --json` is read by scripts: every failure prints one JSON object on stdout — the API's error
body when an answer carried one, else one in the same envelope (app.errors.envelope, `code` null) — beside
the line for a person on stderr, and keeps its exit code. Stdout was empty for every failure the CLI met
before (or instead of) an answer: a CI job parsing it got empty text."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from app.cli import main
from app.errors import ENVELOPE
from tests.unit.test_client import _answers, _hangs_up


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _run(args, tmp_path, token="t"):
    env = {"KARMA_TOKEN": token, "KARMA_HANDLES_FILE": str(tmp_path / "handles.json")}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def _failure(result, code: int) -> dict:
    assert result.exit_code == code, (result.stdout, result.stderr)
    body = json.loads(result.stdout)  # one object, the whole of stdout
    assert list(body)[:4] == list(ENVELOPE[:4]), body
    assert result.stderr.strip(), "the line for a person stays on stderr"
    return body


@pytest.mark.parametrize(
    ("args", "cause"),
    [
        (["plan", "vpc/x", "--set", ".a=1", "--json"], "bad_change"),  # BodyError
        (["plan", "vpc/x", "--set", ".a=1", "--format", "json"], "bad_change"),  # --format json is --json
        (["apply", "plan-00000000", "--json"], "unknown_handle"),
        (["log", "--since", "someday", "--json"], "bad_option"),  # click.BadParameter in the command
        (["approve", "", "--json"], "bad_option"),  # a callback's BadParameter, while parsing
        (["log", "--no-such-option", "--json"], "usage"),
    ],
)
def test_a_failure_before_sending_is_one_json_object(args, cause, tmp_path):
    body = _failure(_run([*args, "--url", _closed_port_url()], tmp_path), 1)
    assert body["code"] is None and body["error"] == "invalid_input" and body["cause"] == cause
    assert body["message"] and body["status"] == "Not Sent"


def test_a_refused_option_is_named_as_a_field(tmp_path):
    body = _failure(_run(["approve", "", "--json"], tmp_path), 1)
    assert body["errors"] == {"CHANGE_ID": ["is empty: give a change id"]}


def test_an_empty_token_is_one_json_object(tmp_path):
    body = _failure(_run(["changes", "--json"], tmp_path, token=""), 1)
    assert body["cause"] == "empty_token" and "KARMA_TOKEN" in body["message"]


def test_unreachable_and_no_answer_are_one_json_object(tmp_path):
    body = _failure(_run(["changes", "--json", "--url", _closed_port_url()], tmp_path), 1)
    assert body["error"] == "unreachable" and body["cause"] == "unreachable" and "cannot reach" in body["message"]
    body = _failure(_run(["changes", "--json", "--url", _hangs_up()], tmp_path), 1)
    assert body["cause"] == "no_answer"


def test_an_unknown_outcome_is_one_json_object_exit_4(tmp_path):
    body = _failure(_run(["request", "vpc/x", "--set", "a=1", "--json", "--url", _hangs_up()], tmp_path), 4)
    assert body["error"] == "outcome_unknown" and body["outcome"] == "unknown" and body["code"] is None
    body = _failure(_run(["request", "vpc/x", "--set", "a=1", "--json", "--url", _answers(504, b"")], tmp_path), 4)
    assert body["code"] == 504 and body["status"] == "Gateway Timeout" and body["outcome"] == "unknown"


def test_an_answer_s_error_body_is_printed_as_it_came(tmp_path):
    sent = {"code": 404, "status": "Not Found", "error": "not_found", "message": "no", "cause": "unknown_change"}
    url = _answers(404, json.dumps(sent).encode())
    assert _failure(_run(["show", "chg-x", "--json", "--url", url], tmp_path), 1) == sent
    body = _failure(_run(["show", "chg-x", "--json", "--url", _answers(500, b"")], tmp_path), 1)
    assert body["code"] == 500 and body["error"] == "http_error"  # an answer without a JSON body


def test_without_json_stdout_stays_empty(tmp_path):
    result = _run(["plan", "vpc/x", "--set", ".a=1", "--url", _closed_port_url()], tmp_path)
    assert result.exit_code == 1 and result.stdout == "" and "bad key" in result.stderr


def test_full_json_is_json_too(tmp_path):
    """`karma import|seed --full-json` print JSON as --json does: their failures too."""
    body = _failure(_run(["import", str(tmp_path / "no-such-tree"), "--full-json"], tmp_path), 1)
    assert body["error"] == "invalid_input" and "DIRECTORY" in body["errors"]


def test_ctrl_c_while_a_write_is_out_is_an_unknown_outcome_on_a_read_an_error(tmp_path, monkeypatch):
    """A Ctrl-C during `karma request` printed Click's "Aborted!" and exited 1 ("nothing happened") while the
    server went on to apply the change (seen on a live server: the change was in `karma log`). A write that
    was out is exit 4, `cause: interrupted`; a read or a plan that was interrupted wrote nothing: exit 1."""
    import urllib.request

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlopen", interrupted)
    url = _closed_port_url()
    body = _failure(_run(["request", "vpc/x", "--set", "a=1", "--json", "--url", url], tmp_path), 4)
    assert body["error"] == "outcome_unknown" and body["cause"] == "interrupted" and "Ctrl-C" in body["message"]
    for read in (["changes", "--json"], ["plan", "vpc/x", "--set", "a=1", "--json"]):
        body = _failure(_run([*read, "--url", url], tmp_path), 1)
        assert body["error"] == "interrupted" and body["code"] is None


def test_a_refused_time_names_its_option(tmp_path):
    """`karma log --until yesterday` said "'yesterday': give a duration…", not which option it was."""
    for option in ("--since", "--until"):
        body = _failure(_run(["log", option, "yesterday", "--json", "--url", _closed_port_url()], tmp_path), 1)
        assert list(body["errors"]) == [option] and "give a duration" in body["errors"][option][0], body


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "htp:/foo", "http://"])
def test_a_service_address_that_is_no_url_is_refused_naming_it(url, tmp_path):
    """`KARMA_URL=127.0.0.1:8000` (no scheme) said "cannot reach Karma …: unknown url type: 127.0.0.1"."""
    body = _failure(_run(["changes", "--json", "--url", url], tmp_path), 1)
    assert body["cause"] == "bad_option" and "--url" in body["errors"], body
    assert "is not an http(s) URL" in body["errors"]["--url"][0]


def test_a_401_says_which_token_was_refused(tmp_path):
    """The API's 401 ("a valid API token is required: Authorization: Bearer <token>") told an operator of
    the CLI nothing about KARMA_TOKEN or --token; the line names the token's source (its JSON stays the API's)."""
    refused = (
        b'{"code": 401, "status": "Unauthorized", "error": "unauthorized", "message": "a valid API token is required"}'
    )
    url = _answers(401, refused)
    result = _run(["changes", "--url", url], tmp_path, token="karma_revoked")
    assert result.exit_code == 1 and "the token in KARMA_TOKEN was refused" in result.stderr, result.stderr
    result = _run(["rules", "reload", "--token", "karma_x", "--url", url, "--json"], tmp_path)
    assert _failure(result, 1)["error"] == "unauthorized" and "the --token given was refused" in result.stderr
