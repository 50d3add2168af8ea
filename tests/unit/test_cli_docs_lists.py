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
