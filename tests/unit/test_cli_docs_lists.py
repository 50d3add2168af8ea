"""docs/cli.md names the commands that talk to the service over HTTP (those that use KARMA_URL and
KARMA_TOKEN) in one sentence; `karma components` and `karma rules reload` were missing from it, so an
operator reading it did not know that they need a running server and a token."""

from __future__ import annotations

import re

import click

from app.cli import main
from app.settings import REPO_ROOT


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), getattr(command, "over_http", False)


def test_the_docs_name_every_command_over_http():
    text = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sentence = re.search(r"`karma ([^`]+)` talk to the service over HTTP", text)
    assert sentence, "docs/cli.md lost its sentence naming the commands over HTTP"
    named = {" ".join(n.split()) for n in sentence.group(1).split("|")}
    commands = dict(_commands(main))
    for path, over_http in commands.items():
        group_over_http = all(h for p, h in commands.items() if p[0] == path[0])
        said = path[0] in named if group_over_http else " ".join(path) in named
        assert said == over_http, (path, over_http, sorted(named))


# every command that lists things by id: `-q` prints the ids, one a line (app.cli.common.quiet_option)
LISTS_BY_ID = [("components",), ("changes",), ("log",), ("queue", "list"), ("transitions", "list"), ("tokens", "list")]


def test_every_list_by_id_takes_q_and_the_docs_say_so():
    """`-q` (ids only, one a line) was on `components`, `changes` and `queue`, not on `log`, `transitions
    list` nor `tokens list`: `karma log -q | …` was "No such option: -q"."""
    text = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path in LISTS_BY_ID:
        command = main
        for name in path:
            command = command.get_command(None, name)
        assert any("-q" in option.opts for option in command.params), path
        named = "queue" if path == ("queue", "list") else " ".join(path)  # `karma queue` lists it
        assert re.search(rf"`(karma )?{named} [^`]*\[-q\]", text), f"docs/cli.md: karma {named} … [-q]"
