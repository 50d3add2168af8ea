"""What every `karma` command group shares: the selected Neo4j, the service objects, the identity a CLI
write records, and the token CLI calls send. One place, so no command module imports another."""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from app.cli import beside
from app.cli.startup import json_asked
from app.clock import time_or
from app.client.api import ClientError, EmptyToken, KarmaClient, OutcomeUnknown, resolve_token, token_source
from app.client.body import BodyError
from app.client import text
from app.client.handles import UnknownHandle
from app.client.outcome import ERROR, OK, UNKNOWN
from app.errors import envelope
from app.paging import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, page_count
from app.settings import Settings


def open_repo(settings: Settings, *, beside_server: bool = True, before_local: Callable[[], None] | None = None):
    """Open the selected Neo4j (env → Docker → local, starting the local one if needed) — beside a running
    `karma serve`, the one it uses (app/cli/beside.py; `karma serve` itself passes beside_server=False, and
    `before_local`: what it does once it knows the local one is picked, before starting it)."""
    from app.graph.driver import open_driver, select_target  # noqa: PLC0415
    from app.graph.repository import GraphRepository  # noqa: PLC0415

    if beside_server:
        settings = beside.adopt(settings)

    def local():
        if before_local is not None:
            before_local()
        return _started_local()

    target = select_target(settings, local=local)
    return target, writing(GraphRepository(open_driver(target), target.database).bounded_by(settings))


@contextmanager
def graph(settings: Settings, *, schema: bool = True, pipeline: bool = False):
    """The selected Neo4j with the schema applied (unless `schema=False`: the caller waits for Neo4j and
    applies it, as `karma worker` does); the driver (and any container) closed afterwards. `pipeline`: the
    command sends changes through the gate, so the pipeline's statements are planned up front too."""
    target, repo = open_repo(settings)
    try:
        if schema:
            repo.apply_schema(precompile=pipeline)
        yield repo
    finally:
        repo.driver.close()
        if target.closer:
            target.closer()


VERBOSE = [False]  # `karma -v`: set by the group, read by the helpers below


def say(message: str) -> None:
    """A progress message of the local Neo4j on stderr; routine ones ("already running") only with -v.
    Where the logs already carry it (karma serve logs at INFO, -v at DEBUG) the log line says it: a
    second, plain copy would break the stream's one format."""
    import logging  # noqa: PLC0415

    if logging.getLogger("karma.neo4j").isEnabledFor(logging.INFO):
        return
    if VERBOSE[0] or "already running" not in message:
        click.echo(message, err=True)


def _started_local():
    from app.graph.driver import NoNeo4j, _local_target  # noqa: PLC0415

    try:
        return _local_target(start=True, echo=say)
    except NoNeo4j as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def services(settings: Settings, *, schema: bool = True, pipeline: bool = False):
    from app.factory import Karma  # noqa: PLC0415
    from app.policy import PolicyEngine, RuleFileError  # noqa: PLC0415

    policy = PolicyEngine(settings.rules_dir)
    try:
        with _inert_rules_said_once():
            policy.load()
    except RuleFileError as exc:
        raise click.ClickException(f"broken rule files: {exc}") from None
    with graph(settings, schema=schema, pipeline=pipeline) as repo:
        yield Karma(settings=settings, repo=repo, policy=policy)


@contextmanager
def _inert_rules_said_once():
    """A command that loads the rules (`karma import`, `seed`, `outbox`) printed the policy's log line for
    every name an inert rule gives the loaded types nothing to match — on aws-config's types eight JSON
    lines on stderr at each import, where a command's stderr is for its own messages (docs/cli.md). Said
    once, as `karma rules validate` ends its own list, naming the command that says why; with the logs on
    (-v, `karma serve`) they stay log lines."""
    import logging  # noqa: PLC0415

    if logging.getLogger("karma").isEnabledFor(logging.INFO):
        yield
        return
    named: list[str] = []

    def held(record: logging.LogRecord) -> bool:  # the engine marks each such line with its rule
        rule = getattr(record, "inert_rule", None)
        if rule is not None and rule not in named:
            named.append(rule)
        return rule is None

    policy_log = logging.getLogger("karma.policy")
    policy_log.addFilter(held)
    try:
        yield
    finally:
        policy_log.removeFilter(held)
    if named:
        click.echo(
            f"warning: {len(named)} rule(s) name what these types lack ({', '.join(named)}): where they need "
            "those names they never fire (a remedy: never accepted) — `karma rules validate` says what each names",
            err=True,
        )


def cli_identity() -> str:
    """The local operator, as every CLI write records it (`cli:<os user>`, `via: cli`)."""
    import getpass  # noqa: PLC0415

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (a container's numeric uid)
        return f"cli:uid-{os.getuid()}"


def given(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An id argument that is there: `CHANGE=$(karma changes -q | head -1)` of an empty list gave `karma
    approve ""`, which the API answered with a bare 404/405 about URLs."""
    if not value or not value.strip():
        raise click.BadParameter(f"is empty: give a {param.human_readable_name.lower().replace('_', ' ')}")
    return value.strip()


def component_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A component id argument or option that can be one (`<type>/<nickname>`, or
    `<environment>/<type>/<nickname>`: app.components.registry.id_shape), refused before anything is
    sent: `karma impact foo` asked /components/foo/impact, which the API reads as the id `foo/impact`
    (not found), and `karma runtime report foo …` got a 405. Absent (an optional one): None."""
    if value is None:
        return None
    return checked_component_id(given(ctx, param, value))


def checked_component_id(value: str) -> str:
    """`value` if it can be a component id, else the usage error `component_id` raises (for a command
    whose argument may be one among other kinds of reference: `karma show`)."""
    from app.components.registry import id_shape  # noqa: PLC0415 - only when a command takes an id

    try:
        id_shape(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a component id: {exc}") from None
    return value


def service_token(explicit: str | None = None) -> str | None:
    """The token a CLI call to the service sends (app.client.api.resolve_token); a blank one is an error
    that names what was blank, exit 1."""
    try:
        return resolve_token(explicit)
    except EmptyToken as exc:
        raise click.ClickException(str(exc)) from None


# -- commands over HTTP ---------------------------------------------------------------------------
def as_json_text(data, **options) -> str:
    """What `--json` prints: the API's JSON, indented, its text as it is (`→`, not `\\u2192`, as the API
    sends it: docs/api.md)."""
    return json.dumps(data, **{"indent": 2, "default": _json_default, "ensure_ascii": False, **options})


def _json_default(value):
    """A time as the API writes it (docs/api.md "Times"), anything else its text."""
    return time_or(value, str)


def listing(items: list, **beside) -> dict:
    """What every list command's `--json` prints (docs/cli.md, "Lists in JSON"): one object, the things
    listed under `items`, how many there are under `total`, anything else (`counts`, `warnings`…) beside
    — as the API's lists answer. `karma tokens list`, `rules list` and `types` printed a bare list, and the
    others an object with the list under `items`, `entries` or `subscriptions`: a script could not read
    two lists the same way."""
    return {"items": items, "total": len(items), **beside}


SECRET_OPTIONS = ("--token",)  # never echoed back in a command the CLI prints


def next_page(page: dict) -> dict:
    """`page` with the command that shows the next one (`next_command`), to paste: this command as it was
    typed, its `--page` replaced, `--json` and `--token` left out. The footer said `next: --page 2`, an
    option to splice into the command by hand."""
    context = click.get_current_context(silent=True)
    argv = context.meta.get(ARGV) if context is not None else None
    number, size, total = page.get("page") or 1, page.get("page_size") or 0, page.get("total") or 0
    if not argv or not size or number * size >= total:
        return page
    words, skip = [], False
    for word in argv:
        name = word.split("=", 1)[0]
        if skip or name == "--json":
            skip = False
        elif name in ("--page", *SECRET_OPTIONS):
            skip = "=" not in word  # `--page 2` takes the next word; `--page=2` is one
        else:
            words.append(word)
    return {**page, "next_command": shlex.join(["karma", *words, "--page", str(number + 1)])}


def emit(data, as_json: bool, human) -> None:
    click.echo(as_json_text(data) if as_json else human(data))


def one_a_line(ids: Iterable[str]) -> None:
    """Ids for a script, one a line (`-q`); none is no output at all: an empty list printed one empty line,
    which `karma changes -q | while read id; do karma approve "$id"; done` read as one (empty) change id."""
    for found in ids:
        click.echo(found)


def quiet_option(noun: str):
    """`-q`: what a list command lists, by id, one a line (for scripts) — every list command the same way."""
    return click.option(
        "-q", "--quiet", is_flag=True, help=f"Only the {noun} ids, one a line (for scripts): all of them."
    )


def paged_options(noun: str, nouns: str):
    """--page, --page-size and -q of a paged list command (`changes`, `components`, `log`, `transitions
    list`): -q without a page asked for reads every page (paged_list)."""

    def decorate(fn):
        fn = quiet_option(noun)(fn)
        fn = click.option("--page-size", type=PAGE_SIZE_RANGE, help=f"{nouns} a page [default: {PAGE_SIZE}]")(fn)
        return click.option("--page", type=PAGE, help=PAGE_HELP)(fn)

    return decorate


PAGE_HELP = "Which page [default: 1; with -q and no --page-size: every page]"


def paged_list(client, path: str, filters: dict, human, *, as_json: bool, quiet: bool, page, page_size) -> None:
    """A paged list command's output: a page as a table (`human`, with the command for the next page) or
    JSON, or under -q its ids one a line — every matching one when no page was asked for, so a script's
    `| xargs` misses none (printed as each page arrives: `| head -1` ends the read after one page). A
    listing's `warnings` (an environment no component lives in: a typo?) go to
    stderr."""
    if quiet and not as_json and page is None and page_size is None:
        one_a_line(_every_id(client, path, filters))
        return
    listed = client.get(path, {**filters, "page": page or 1, "page_size": page_size or PAGE_SIZE})
    for warning in listed.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
    if quiet and not as_json:
        one_a_line([item["id"] for item in listed["items"]])
        return
    emit(listed, as_json, lambda shown: human(next_page(shown)))


QUIET_PAGE = MAX_PAGE_SIZE  # the API's largest page: -q reads every page of this size


def _every_id(client, path: str, filters: dict) -> Iterator[str]:
    """Every matching id of a paged list, page after page — as many pages as the first answer's total says,
    so the loop is bounded by what exists (`changes -q` printed the first 50 of 56, and nothing said so).
    Yielded a page at a time: `karma log -q` on a log of 60,000 entries printed nothing for two minutes,
    reading every page before its first line, and `| head -1` waited for all of it. An id a page repeats is
    said once: lists are newest first, so what is added while they are read pushes the next page's first
    ids back onto the page already read. A list that answers `next_after` (the log, the change list) is read
    by that cursor: `?page=` skips every entry before its page, so reading them all that way cost the square
    of the log's length."""
    seen: set[str] = set()
    following: dict = {"page": 1}
    for number in itertools.count(1):
        listed = client.get(path, {**filters, **following, "page_size": QUIET_PAGE})
        fresh = [item["id"] for item in listed["items"] if item["id"] not in seen]
        seen.update(fresh)
        yield from fresh
        if "next_after" in listed:  # a keyset cursor (the log, the change list): each page costs one page
            if not listed["next_after"]:
                return
            following = {"after": listed["next_after"]}
        elif number >= page_count(listed["total"], QUIET_PAGE) or not listed["items"]:
            return
        else:
            following = {"page": number + 1}


def service_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The service's address as an http(s) URL: `KARMA_URL=127.0.0.1:8000` (no scheme) was sent to urllib,
    whose "unknown url type: 127.0.0.1" read as if Karma could not be reached."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    address = urlsplit(value.strip())
    if address.scheme not in ("http", "https") or not address.netloc:
        raise click.BadParameter(
            f"{value!r} is not an http(s) URL (from --url or KARMA_URL): give one like http://127.0.0.1:8000"
        )
    return value.strip()


def api_command(group: click.Group, name: str, json_flag: bool = True):
    """A command talking to the API: --url/--token, --json, and errors turned into exit codes (failed)."""

    def decorate(fn):
        @group.command(name, help=fn.__doc__)
        @click.option(
            "--url",
            default=beside.api_url,
            callback=service_url,
            show_default="KARMA_URL, else the running karma serve, else http://127.0.0.1:8000",
            help="The Karma service.",
        )
        @click.option("--token", default=None, help="API token [default: KARMA_TOKEN, else .karma/admin-token]")
        @functools.wraps(fn)
        def command(url: str, token: str | None, **kwargs):
            click.get_current_context().meta[JSON_OUTPUT] = kwargs.get("as_json") or kwargs.get("fmt") == "json"
            try:
                code = fn(writing(KarmaClient(url, resolve_token(token), waiting=progress)), **kwargs)
            except ClientError as exc:
                raise failed(_with_starting_hint(_with_token_hint(exc, token), url)) from None
            except (BodyError, UnknownHandle, click.BadParameter, EmptyToken, OutcomeUnknown) as exc:
                raise failed(exc) from None
            sys.exit(code or OK)

        if json_flag:
            command = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")(command)
        command.over_http = True  # docs/cli.md names these (tests/unit/test_cli_docs_lists.py)
        return command

    return decorate


def _with_token_hint(exc: ClientError, explicit: str | None) -> ClientError:
    """A 401 says which token was refused and what to set (app.client.api.token_source); others as they are."""
    if exc.status != 401:
        return exc
    return ClientError(f"{exc}; {token_source(explicit)}", status=exc.status, body=exc.body, cause=exc.cause)


def _with_starting_hint(exc: ClientError, url: str) -> ClientError:
    """Nothing answers at `url` because the `karma serve` recorded there is still starting (beside.py)."""
    hint = beside.starting_hint(Settings.from_env(), url) if exc.cause == "unreachable" else None
    if hint is None:
        return exc
    return ClientError(f"{exc}; {hint}", status=exc.status, body=exc.body, cause=exc.cause)


def _one_change(body: dict) -> dict:
    """The one change a body asks for — its single form, or a set of one update (the API's single form is
    parsed as exactly that set: app/changes/gate.py) — as `component` and `proposed_change`; {} for a set
    of more operations, or one that is no update."""
    changes = body.get("changes")
    if changes is None:
        return body
    if len(changes) == 1 and isinstance(changes[0], dict) and changes[0].get("op") == "update":
        return changes[0]
    return {}


def already_reached(exc: ClientError, body: dict) -> bool:
    """The API's 422 `no_change` for one change: the component already is as asked. The API answers it so
    for /plan, /request-change and /transitions alike (one answer for one body); to a person or a pipeline
    asking for it, it is nothing to do, not an error (docs/cli.md, "nothing to do") — in the single form or
    as a set of one update, the same change. A set with one such operation among others stays an error:
    its other operations were asked for and were not done."""
    return exc.status == 422 and exc.body.get("cause") == "no_change" and bool(_one_change(body))


def nothing_to_do(exc: ClientError, body: dict, fmt: str, *, status: str, quiet: bool = False) -> int:
    """What every command says of a change already true: `nothing to do: …` (on stdout; on stderr under
    -q, so a script's next command gets no id), exit 0 — or, under --json, one object: `status` (the
    command's word for it: `unchanged` for a change's result, as `karma import` says it; `already_reached`
    for a proposal search), the line as `message`, the API's 422 as `answer`."""
    change = _one_change(body)
    keys = ", ".join(sorted(change.get("proposed_change") or {})) or "its config"
    line = f"nothing to do: {change.get('component')} already has {keys} as asked (the change changes nothing)"
    if fmt == "json":
        extra = {"proposals": []} if status == "already_reached" else {}
        click.echo(as_json_text({"status": status, **extra, "message": line, "answer": exc.body}))
    else:
        click.echo(line, err=quiet)
    return OK


def loaded_json_options(fn):
    """`--json` / `--full-json` of the commands that load a file or a tree (`karma seed`, `karma import`):
    a change set's answer names every component of the set in each operation's facts, so it grows with
    the square of the set; `--json` prints the summary a CI job acts on (text.loaded_summary)."""
    fn = click.option(
        "--full-json",
        is_flag=True,
        help="Print the whole answer as JSON: each operation's facts, impact and writes (it grows with the "
        "square of the set).",
    )(fn)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the result as JSON: a set's status, ids, counts, decisions and drift, each operation as its "
        "component, op and effects (docs/cli.md).",
    )(fn)


def revert_lost_option(what: str):
    """`--revert-lost-changes` of the commands that load a config source (`karma import`, `karma seed`): the
    one way past app.import_guard's refusal of a load that would revert a Karma change the config store
    wrote back. `what`: why the source lacks such a change, as the command's help says it."""
    return click.option(
        "--revert-lost-changes",
        "revert_lost",
        is_flag=True,
        help=f"Accept reverting Karma changes {what}: without it such a load is refused naming each; with it, the "
        "plan, the answer and the audit entry name each change it reverts.",
    )


def echo_loaded(result: dict, as_json: bool, full_json: bool) -> None:
    """What `karma seed` / `karma import` print: the whole answer (--full-json), its summary (--json), or text."""
    from app.client import text  # noqa: PLC0415

    if full_json:
        click.echo(as_json_text(result))
    else:
        click.echo(as_json_text(text.loaded_summary(result)) if as_json else text.loaded(result))


# -- failures, as a person and a script read them ---------------------------------------------------
def output_format(fmt: str | None, as_json: bool) -> str:
    """What a command prints: `--json`, as every command takes it, beside the `--format` some have (None
    when not given: tables). Both, naming another format, is a usage error (nothing is sent), rather than
    one of them silently winning: `plan --format markdown --json` printed JSON."""
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json and --format {fmt}: give one")
    return "json" if as_json else fmt or "table"


WRITERS = "karma.writers"  # ctx.meta: what this command writes through (a repository, a client): interrupted()
JSON_OUTPUT = "karma.json"  # ctx.meta: the command prints JSON (--json, --format json), failures included
ARGV = "karma.argv"  # ctx.meta: the arguments as given, for a failure before the command knew (a usage error)


ERROR_LINE = "error: "  # how every command's failure line starts — the API's, the Neo4j side's, a usage error


class Failed(click.ClickException):
    """A command's failure: the line a person reads (stderr, as it is), the exit code a pipeline acts on,
    and the one JSON object `--json` prints on stdout instead of nothing (a CI job parsing stdout got
    empty text)."""

    def __init__(self, line: str, exit_code: int, body: dict):
        super().__init__(line)
        self.exit_code, self.body = exit_code, body

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


class Usage(click.UsageError):
    """Click's usage error (its usage line, its `Try … --help` hint), its error line spelled as every
    other command's failure is (ERROR_LINE; Click says `Error:`), exit 1: Click's own 2 is Karma's
    "rejected" (app.client.outcome)."""

    exit_code = ERROR

    def __init__(self, exc: click.UsageError):
        super().__init__(exc.format_message(), exc.ctx)  # a bad option's names it (`Invalid value for …`)
        self.body = failed(exc).body  # what --json prints: as the error Click raised names it (a bad option's)

    def show(self, file=None) -> None:
        if self.ctx is not None:  # as Click says it
            hint = ""
            if self.ctx.command.get_help_option(self.ctx) is not None:
                option = max(self.ctx.command.get_help_option_names(self.ctx), key=len)
                hint = f"Try '{self.ctx.command_path} {option}' for help.\n"
            click.echo(f"{self.ctx.get_usage()}\n{hint}", err=True, color=self.ctx.color)
        click.echo(ERROR_LINE + self.format_message(), err=True)


# what the CLI refused before sending anything, by the error's type: the `cause` its JSON names
REFUSED_HERE = (
    (BodyError, "bad_change"),
    (UnknownHandle, "unknown_handle"),
    (EmptyToken, "empty_token"),
    (click.BadParameter, "bad_option"),
    (click.UsageError, "usage"),
)
NO_ANSWER = {"unreachable": "Unreachable", "no_answer": "No Answer", "interrupted": "Interrupted"}


def failed(exc: Exception) -> Failed:
    """What a command says when it fails: the API's error body when an answer carried one; else a body in
    the same envelope (app.errors.envelope) with `code` null (no HTTP answer) — `error` invalid_input
    (nothing was sent), unreachable, or outcome_unknown (exit 4: a write may have applied)."""
    said = str(exc)
    if isinstance(exc, OutcomeUnknown):
        cause = exc.cause or ("no_answer" if exc.status is None else "gateway")
        name = _phrase(exc.status, "Outcome Unknown")
        body = exc.body or envelope(exc.status, name, "outcome_unknown", said, cause=cause, outcome="unknown")
        return Failed(f"outcome unknown: {exc}", UNKNOWN, body)
    if isinstance(exc, ClientError):
        if exc.body:
            body = exc.body
        elif exc.cause:
            error = "interrupted" if exc.cause == "interrupted" else "unreachable"  # Ctrl-C: Karma may be fine
            body = envelope(None, NO_ANSWER[exc.cause], error, said, cause=exc.cause)
        else:
            body = envelope(exc.status, _phrase(exc.status, "Error"), "http_error", said)
        return Failed(f"{ERROR_LINE}{exc}", ERROR, body)
    cause = next((c for kind, c in REFUSED_HERE if isinstance(exc, kind)), None)
    if cause is None:  # a command's own refusal (a click.ClickException: a broken rule file, Neo4j failed…)
        message = exc.format_message() if isinstance(exc, click.ClickException) else said
        return Failed(ERROR_LINE + message, ERROR, envelope(None, "Failed", "command_failed", message))
    named = cause == "usage" or getattr(exc, "param", None) is not None  # click names the option itself
    message = exc.format_message() if named else said
    errors = _option_errors(exc)
    return Failed(
        f"{ERROR_LINE}{exc}", ERROR, envelope(None, "Not Sent", "invalid_input", message, errors, cause=cause)
    )


def _phrase(code: int | None, fallback: str) -> str:
    from http import HTTPStatus  # noqa: PLC0415

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return fallback


def _option_errors(exc: Exception) -> dict | None:
    """A refused option's name and why, as the API's `errors` names a field (`--status`: not one of …)."""
    if not isinstance(exc, click.BadParameter):
        return None
    if exc.param is not None:
        hint = exc.param.get_error_hint(exc.ctx) if exc.ctx is not None else exc.param.name
    else:
        hint = exc.param_hint if isinstance(exc.param_hint, str) else " / ".join(exc.param_hint or [])
    return {hint.strip("'\""): [exc.message]} if hint else None


def writing(writer):
    """`writer` (a GraphRepository, a KarmaClient: each says `write_sent` once a write may have gone out)
    remembered for the command, so a Ctrl-C can be told truly (interrupted); returned as it is."""
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta.setdefault(WRITERS, []).append(writer)
    return writer


# what to look at after a Ctrl-C may have stopped a command mid-write, by command (default: the audit log,
# where every write through the gate or by an admin command is recorded)
LOOK_AT = {
    "import": "`karma log` and `karma drift`",
    "tokens": "`karma tokens list` and `karma log`",
    "outbox": "`karma outbox list` and `karma log`",
    "subscriptions": "`karma subscriptions list` and `karma log`",
}
API_LOOK_AT = "`karma changes` / `karma log`"


def interrupted(ctx: click.Context) -> Failed:
    """A Ctrl-C anywhere in a command, said truly (Click's "Aborted!", exit 1, claimed nothing happened even
    when a write was committing). Nothing written yet — no write transaction reached its COMMIT, no write
    was sent to the API — is an error, exit 1; else the outcome is unknown, exit 4, naming what to check,
    as the API commands' Ctrl-C during a call (KarmaClient._interrupted) is."""
    command = ctx.invoked_subcommand or "the command"
    sent = [writer for writer in ctx.meta.get(WRITERS, []) if writer.write_sent]
    if not sent:
        return failed(ClientError(f"interrupted (Ctrl-C): karma {command} wrote nothing", cause="interrupted"))
    api = any(isinstance(writer, KarmaClient) for writer in sent)
    look = LOOK_AT.get(command) or (API_LOOK_AT if api else "`karma log`")
    said = f"interrupted (Ctrl-C) after karma {command} sent a write: it may have been applied; check {look}"
    return failed(OutcomeUnknown(said, cause="interrupted"))


def asks_for_json(ctx: click.Context) -> bool:
    """Whether the command prints JSON: as the command said once it ran (JSON_OUTPUT), else as its
    arguments say (--json, --format json), for a failure before it ran (a usage error)."""
    if JSON_OUTPUT in ctx.meta:
        return bool(ctx.meta[JSON_OUTPUT])
    return json_asked(ctx.meta.get(ARGV) or [])


DURATION = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime | None = None) -> str | None:
    """`--since 1h` / `30m` / `2d` → the ISO 8601 instant that long ago; a date (`2026-12-06`) → its
    midnight UTC; ISO 8601 with a time zone passes through. Anything else is refused here, saying what is
    taken (the API's "Not a valid aware datetime" did not)."""
    if value is None:
        return None
    text = value.strip()
    found = DURATION.match(text.lower())
    if found:
        amount, unit = int(found.group(1)), UNITS[found.group(2)]
        return ((now or datetime.now(UTC)) - timedelta(**{unit: amount})).isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is not None and len(text) == 10:  # a date alone: that day's start, UTC
        return moment.replace(tzinfo=UTC).isoformat(timespec="seconds")
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter(
            f"{value!r}: give a duration ago (30m, 1h, 2d, 1w), a date (2026-12-06, UTC) or ISO 8601 with a "
            "time zone (2026-12-06T18:00:00Z)"
        )
    return text


def moment(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--since` / `--until` as a callback: parse_since, its refusal naming the option (`karma log --since
    yesterday` said only "'yesterday': give a duration…", not which of the two it was: parsed in the command,
    the refusal had no option; in a callback Click names it)."""
    return parse_since(value)


# --page / --page-size take what the API's ?page / ?page_size take (app.paging): `--page 0` was sent, and
# the API's 422 named `query.page`, not the option
PAGE = click.IntRange(1, MAX_PAGE)
PAGE_SIZE_RANGE = click.IntRange(1, MAX_PAGE_SIZE)


# --format of the commands that print a change's result (plan, request, apply, rollback); output_format()
# reads it beside --json
RESULT_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    help="Output: tables (the default), the API's JSON, or Markdown with a Mermaid graph.",
)


def change_options(fn):
    """The change itself: a component, a file and/or --set/--unset, and the request's fields."""
    for option in reversed(
        [
            click.argument("component", required=False, callback=component_id),
            click.option(
                "-f",
                "--file",
                "file",
                type=click.Path(path_type=Path, allow_dash=True),
                help="YAML/JSON: a whole request or just the merge patch (- for stdin).",
            ),
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="KEY=VALUE",
                help="Set a config key (VALUE parsed as JSON, else a string; a.b=1 for nested keys).",
            ),
            click.option("--unset", "unsets", multiple=True, metavar="KEY", help="Remove a config key."),
            click.option("--reason", help="Why (policy requires one for prod)."),
            click.option(
                "--queue",
                "on_blocked",
                flag_value="queue",
                default=None,
                help="Queue the change if a rule blocks it (default: reject).",
            ),
            click.option("--expected-version", type=int, help="Refuse (409) unless the component is at this version."),
            RESULT_FORMAT,
        ]
    ):
        fn = option(fn)
    return fn


@contextmanager
def progress(what: str):
    """A spinner with the elapsed time on stderr while a command waits on something it cannot count
    (an API call); only at a terminal: a pipe or a CI log gets no control characters."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console  # noqa: PLC0415

    with Console(stderr=True).status(f"{what}…", spinner="dots"):
        yield


PHASES = {
    "files": "config files read",
    "components": "components written",
    "edges": "edges written",
    "operations": "changes through the gate",
}


@contextmanager
def progress_bars(what: str, *, show: bool = True):
    """Bars on stderr for work that counts what it has done (app.progress): yields the `report(phase,
    done, total)` to hand to the work, one bar per phase (files, components, edges, operations) after a
    first line for what comes before the work (opening Neo4j, loading the rules). Drawn only at a
    terminal and when `show` (not under --json): otherwise the report is silent and stderr stays clean."""
    from app.progress import silent  # noqa: PLC0415

    if not (show and sys.stderr.isatty()):
        yield silent
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (SpinnerColumn(), TextColumn("{task.description:<26}"), BarColumn(), TextColumn("{task.fields[count]}"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as bars:
        tasks = {"": bars.add_task(what, total=None, count="")}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                bars.update(tasks[""], total=1, completed=1)  # the work began: what came before it is done
                tasks[phase] = bars.add_task(PHASES.get(phase, phase), total=total, count="")
            bars.update(tasks[phase], completed=done, total=total or 1, count=f"{done:,}/{total:,}")

        yield report


# what to do when one transaction is too much for the database: an import is the one request that can grow so
SPLIT_IMPORT = "A large `karma import`: one environment at a time (`--environment`)"


def database_failure(exc: Exception) -> str:
    """What a command says when Neo4j failed it: the cases the API's 503s distinguish (and what to do)."""
    from neo4j.exceptions import IncompleteCommit  # noqa: PLC0415

    from app.graph.driver import out_of_memory, timed_out  # noqa: PLC0415

    if isinstance(exc, IncompleteCommit):
        return "the connection was lost while the database committed: the outcome is unknown; check `karma log`"
    if timed_out(exc):
        return (
            "the database did not answer in time (its transaction timeout, KARMA_NEO4J_TX_TIMEOUT); nothing was "
            f"changed. {SPLIT_IMPORT}"
        )
    if out_of_memory(exc):
        return (
            "the database ran out of transaction memory (dbms.memory.transaction.total.max; "
            f"KARMA_NEO4J_TX_MEMORY for the local server); nothing was changed. {SPLIT_IMPORT}"
        )
    return f"the database failed the command ({type(exc).__name__}: {str(exc)[:300]}); nothing was changed"


# what moves the waiting change a 409 names: its requester withdraws a queued one; an approver decides the other
_TWIN_MOVES = {
    "already_queued": "to withdraw it: karma cancel {id}",
    "already_pending": "an approver decides it: karma approve {id} / karma deny {id}",
}
# a rollback refused for the rollback that did it, or waits (`rolled_back_by`): its page says what comes next
_ROLLED_BACK = ("already_rolled_back", "rollback_pending")


def with_next_commands(exc: ClientError) -> ClientError:
    """A 409 that names what stands in the way, with the commands that move it: an identical change of
    yours already waiting (`already_queued`: see it, withdraw it; `already_pending`: see it, an approver
    decides it), a transition that will change the same component or runs the same proposal
    (`component_in_transition`, `proposal_executing`: the API's words said `DELETE /transitions/trn-…`, not
    the command a terminal takes), a proposal the graph moved under (`stale_proposal`: the command that
    proposes its change again — it said "propose again", and the change was inside the signed id), a
    pending change asked to be cancelled (an approver decides it), a rollback already done or waiting (see
    it). Any other error as it is."""
    body = exc.body or {}
    cause, change, transition = body.get("cause"), body.get("change_id"), body.get("transition_id")
    rollbacks = body.get("rolled_back_by") or []
    if cause in _TWIN_MOVES and change:
        hint = f"see it: karma show {change}; {_TWIN_MOVES[cause].format(id=change)}"
    elif cause == "change_pending_approval" and change:  # `karma cancel` of it: not its requester's to withdraw
        hint = _TWIN_MOVES["already_pending"].format(id=change)
    elif cause in _ROLLED_BACK and rollbacks:
        hint = "see it: " + "; ".join(f"karma show {rollback}" for rollback in rollbacks)
    elif cause in ("component_in_transition", "proposal_executing") and transition:
        hint = f"see it: karma transitions show {transition}; to cancel what has not run: karma transitions cancel"
        hint += f" {transition}"
    elif cause == "stale_proposal" and body.get("propose_again"):
        hint = f"the command, to paste:\n  {text.piped_propose(body['propose_again'])}"
    else:
        return exc
    return ClientError(f"{exc}; {hint}", status=exc.status, body=exc.body, cause=exc.cause)
