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


def test_ctrl_c_while_karma_starts_is_one_line_not_a_traceback():
    """A Ctrl-C in the first second or two, while `from app.cli import main` loads the commands' modules,
    printed a KeyboardInterrupt traceback from deep in an import. It is one line, exit 1 (nothing was sent),
    and under --json the `interrupted` body every interrupted command prints."""
    import subprocess
    import sys

    from app.settings import REPO_ROOT

    program = (
        "import builtins, sys\n"
        "load = builtins.__import__\n"
        "def ctrl_c(name, *args, **kwargs):\n"
        "    if name == 'app.observability':\n"  # one of app.cli's own imports, part-way through
        "        raise KeyboardInterrupt\n"
        "    return load(name, *args, **kwargs)\n"
        "builtins.__import__ = ctrl_c\n"
        "sys.argv = ['karma', 'log', '--json']\n"
        "from app.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines() == [
        "error: interrupted (Ctrl-C) while karma started: nothing was sent or written"
    ]
    body = json.loads(done.stdout)
    assert body["error"] == "interrupted" and body["cause"] == "interrupted" and body["code"] is None


def test_a_page_out_of_the_api_s_bounds_is_refused_naming_the_option(tmp_path):
    """`karma log --page 0` / `--page-size 1000` were sent, and the API's 422 named `query.page`; the CLI
    checks the bounds the API declares (app.paging) and names its own option, sending nothing."""
    from app.paging import MAX_PAGE, MAX_PAGE_SIZE

    url = _closed_port_url()  # nothing answers there: a refusal here is the CLI's own
    for args, option in (
        (["log", "--page", "0"], "--page"),
        (["log", "--page-size", str(MAX_PAGE_SIZE + 1)], "--page-size"),
        (["changes", "--page", str(MAX_PAGE + 1)], "--page"),
        (["changes", "-q", "--page-size", "0"], "--page-size"),
        (["transitions", "list", "--page-size", "1000"], "--page-size"),
    ):
        body = _failure(_run([*args, "--json", "--url", url], tmp_path), 1)
        assert body["error"] == "invalid_input" and list(body["errors"]) == [option], (args, body)


@pytest.mark.parametrize(("ref", "command"), [("prop-1234abcd", "karma transitions execute prop-1234abcd"),
                                              ("plan-1234abcd", "karma apply plan-1234abcd")])  # fmt: skip
def test_show_of_a_plan_or_proposal_handle_says_what_it_is(tmp_path, ref, command):
    """`karma show prop-…` was looked up as a change: "404 change 'prop-…' not found". A proposal's or a
    plan's handle is not stored: refused before anything is sent, naming the command that takes it."""
    body = _failure(_run(["show", ref, "--json", "--url", _closed_port_url()], tmp_path), 1)
    assert body["error"] == "invalid_input" and command in body["message"] and "not stored" in body["message"], body


@pytest.mark.parametrize("kind", ["plan", "prop"])
def test_every_refusal_of_a_handle_reads_what_it_is_from_one_table(tmp_path, monkeypatch, kind):
    """What a plan's or a proposal's handle is, and the commands that make and take it, were said in two
    tables in their own words (app.client.handles.MADE_BY, app.cli.changes.SIGNED_ID_USES): one could
    change without the other. Every refusal of a handle — a typo, one this machine never made, `karma
    show` of one — now reads app.client.handles.SIGNED, so a different table changes all three."""
    from app.client import handles
    from app.ids import SIGNED_KINDS

    assert set(handles.SIGNED) == set(SIGNED_KINDS.values())  # every signed id has its words
    odd = handles.SignedKind("odd-thing", "karma make-odd", "karma take-odd", "takes the odd thing")
    monkeypatch.setitem(handles.SIGNED, kind, odd)
    url = _closed_port_url()
    typo = _failure(_run(["show", f"{kind}-1234abcd", "--json", "--url", url], tmp_path), 1)["message"]
    assert "a odd-thing (`karma make-odd` prints one): `karma take-odd " in typo and "takes the odd thing" in typo
    command = ["apply"] if kind == "plan" else ["transitions", "execute"]
    for ref in (f"{kind}-123", f"{kind}-1234abcd"):  # not a handle's shape; a handle this machine never made
        said = _failure(_run([*command, ref, "--json", "--url", url], tmp_path), 1)["message"]
        assert "odd-thing" in said and "`karma make-odd …" in said, said


def test_show_of_a_path_that_is_no_component_id_is_refused_before_sending(tmp_path):
    """`karma show a/b/c/d` reached the server as a path no route answers, and its 404 read "the URL may
    be wrong": a reference with a slash is a component id, checked as `karma impact` checks its own."""
    body = _failure(_run(["show", "a/b/c/d", "--json", "--url", _closed_port_url()], tmp_path), 1)
    assert body["error"] == "invalid_input" and "is not a component id" in body["message"], body


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "vpc/x", "--url", "http://127.0.0.1:1"],  # an API command: unreachable
        ["cypher", "no-such-query"],  # a command that opens Neo4j itself: its own refusal (ClickException)
        ["plan", "--no-such-option"],  # Click's usage error, in a command
        ["--no-such-option"],  # Click's usage error, before any command
    ],
)
def test_every_command_s_error_line_is_spelled_one_way(args, tmp_path):
    """The API commands said `error: …` where Click's own usage errors and the commands that open Neo4j
    themselves said `Error: …`: one spelling now, `error:` (app.cli.common.ERROR_LINE), exit 1."""
    said = _run(args, tmp_path)
    assert said.exit_code == 1, said.output
    assert said.stderr.splitlines()[-1].startswith("error: "), said.stderr
    assert "Error:" not in said.stderr
