"""What `karma` needs before its commands have loaded: it is imported first, and is light (the standard
library, app.errors and the exit codes), so a Ctrl-C while the rest loads can still be answered."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

from app.client.outcome import ERROR
from app.errors import envelope

STOPPED = "interrupted (Ctrl-C) while karma started: nothing was sent or written"


def json_asked(args: list[str]) -> bool:
    """--json, --full-json (seed and import: the whole answer) or --format json."""
    return bool({"--json", "--full-json", "--format=json"} & set(args)) or ("--format", "json") in zip(
        args, args[1:], strict=False
    )


def stopped_while_starting() -> NoReturn:
    """A Ctrl-C in the first second or two, while the commands' modules load: a KeyboardInterrupt traceback
    from deep in an import. It is one line on stderr (and, under --json, the body `interrupted` every
    command's Ctrl-C prints), exit 1 as for any command interrupted before it wrote anything (docs/cli.md)."""
    if json_asked(sys.argv[1:]):
        body = envelope(None, "Interrupted", "interrupted", STOPPED, cause="interrupted")
        print(json.dumps(body, indent=2, ensure_ascii=False))  # click may not be loaded yet
    print(f"error: {STOPPED}", file=sys.stderr)
    raise SystemExit(ERROR)
