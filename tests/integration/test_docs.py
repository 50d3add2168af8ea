"""Docs run: every shell block in README.md and docs/*.md is executed, in order, one bash session per
file, against one gunicorn serving the freshly seeded karma world — as a reader pastes them beside
`make run`. A command that fails when pasted fails here, naming the file and the line of its block.

- One server (two workers) and one seeded world serve every page: a page starts on the world exactly as
  seeded — the world is re-seeded before it only when an earlier page changed a component, an edge or
  left a change open (`world_state`), so the pages that only read, plan or make tokens share it.

- Blocks fenced ```sh / ```bash / ```shell run as written; in a ```console block the `$ ` lines run.
- A block right after `<!-- docs-test: skip (why) -->` is not run (the servers themselves, hour-long
  benchmarks, other hosts); say why, and keep them few.
- The only rewrite: the docs' address (http://127.0.0.1:8000, localhost:8000) becomes the test server's.
- Each file runs in a scratch directory that links the repository's files (so `.venv/bin/activate`,
  `tests/fixtures/…`, `rules/` are there) with its own `.karma/admin-token`; a docs/ page starts with
  the venv activated (the README's first step), the README itself does that step.
- A failing command stops its file: its exit code, except 2 and 3 from `karma` (rejected / waiting:
  answers, not failures), and `curl --fail-with-body` turns an HTTP error into one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from app.settings import REPO_ROOT

FENCE = re.compile(r"^```(sh|bash|shell|console)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\(([^)]+)\)\s*-->\s*$")
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, skip reason or None, commands) for each shell block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        body = match.group(2)
        if match.group(1) == "console":
            body = "\n".join(ln[2:] for ln in body.splitlines() if ln.startswith("$ ")) + "\n"
        out.append((line, skip.group(1) if skip else None, body))
    return out


def script(path: Path, url: str) -> str:
    host = url.split("://", 1)[1]
    parts = [
        "set -o pipefail",
        # a command's failure stops the file, naming it; `karma`'s 2 and 3 are answers (rejected, waiting)
        'on_err() { rc=$?; case "$BASH_COMMAND" in *karma\\ *) [ $rc -eq 2 ] || [ $rc -eq 3 ] && return 0;; esac; '
        'echo "@@failed ($rc): $BASH_COMMAND"; exit $rc; }',
        "trap on_err ERR",
    ]
    if path.name != "README.md":
        parts.append("source .venv/bin/activate")
    for line, skip, body in blocks(path):
        if skip:
            continue
        body = body.replace("http://127.0.0.1:8000", url).replace("localhost:8000", host)
        parts += [f"echo '@@block {path.name}:{line}'", body]
    return "\n".join(parts) + "\n"


def scratch(tmp: Path) -> Path:
    """A directory that looks like the repository (links) but has its own .karma/."""
    for entry in REPO_ROOT.iterdir():
        if entry.name not in (".karma", ".git"):
            (tmp / entry.name).symlink_to(entry)
    (tmp / ".karma").mkdir()
    return tmp


def test_every_skip_says_why_and_skips_are_few():
    skipped = [(p.name, line, why) for p in PAGES for line, why, _ in blocks(p) if why]
    assert all(why.strip() for _, _, why in skipped)
    assert len(skipped) <= 12, skipped  # few: a block that cannot run is the exception


def headings(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (outside code blocks), and the headings' own text."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    titles = re.findall(r"^#+\s+(.*?)\s*$", text, re.M)
    return set(titles) | {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def test_every_link_and_named_section_of_the_docs_exists():
    """A reader follows a link, or "the README's "X" section", to a page and a heading that are there."""
    missing = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if link.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists() or (anchor and target.suffix == ".md" and anchor not in headings(target)):
                missing.append(f"{page.name}: {link}")
        for section in re.findall(r"README's\s+\"([^\"]+)\"\s+section", text):
            if section not in headings(REPO_ROOT / "README.md"):
                missing.append(f"{page.name}: the README's {section!r} section")
    assert not missing, missing


def test_the_rule_the_readme_quotes_is_the_rule_in_rules():
    """The README's rule is an excerpt of rules/: every key it shows says what the file says."""
    import yaml

    quoted = [
        rule
        for body in re.findall(r"^```yaml\n(.*?)^```", (REPO_ROOT / "README.md").read_text(), re.M | re.S)
        for rule in yaml.safe_load(body) or []
        if isinstance(rule, dict) and "id" in rule
    ]
    files = {
        rule["id"]: rule
        for f in sorted((REPO_ROOT / "rules").glob("*.yaml"))
        for rule in yaml.safe_load(f.read_text())["rules"]
    }
    assert quoted
    for rule in quoted:
        assert {key: files[rule["id"]].get(key) for key in rule} == rule


@pytest.fixture(scope="module")
def gunicorn_workers() -> int:
    return 2  # one reader pasting commands: two workers boot in half the time of the default four


OPEN = ("queued", "pending_approval")


def world_state(repo) -> str:
    """What a page may rely on: every component and the edges between them, and the open changes."""
    graph = repo.dump()
    nodes = {n["id"]: n for n in graph["nodes"]}
    components = sorted(
        json.dumps(n["props"], sort_keys=True, default=str) for n in nodes.values() if "Component" in n["labels"]
    )
    edges = sorted(
        f"{nodes[r['start']]['props']['id']}|{r['type']}|{r['props'].get('via')}|{nodes[r['end']]['props']['id']}"
        for r in graph["relationships"]
        if "Component" in nodes[r["start"]]["labels"] and "Component" in nodes[r["end"]]["labels"]
    )
    open_changes = sorted(
        n["props"]["id"] for n in nodes.values() if "ChangeRequest" in n["labels"] and n["props"].get("status") in OPEN
    )
    return json.dumps([components, edges, open_changes])


@pytest.fixture(scope="module")
def seeded(repo, driver):
    """The karma world seeded once for the module, and its state (the `world` fixture would re-seed per page)."""
    from app import seeding
    from tests.conftest import SEED, wipe

    def reseed() -> str:
        wipe(driver)
        seeding.load(repo, SEED)
        return world_state(repo)

    state = [reseed()]

    def as_seeded():
        if world_state(repo) != state[0]:
            state[0] = reseed()
        return repo

    return as_seeded


@pytest.mark.parametrize("page", [p for p in PAGES if any(not skip for _, skip, _ in blocks(p))], ids=lambda p: p.name)
def test_the_shell_blocks_run(page, seeded, gunicorn_url, service_env, tmp_path):
    paste([page], seeded(), gunicorn_url, service_env, tmp_path)


def test_a_reader_who_took_the_readme_tour_can_paste_the_cli_page(seeded, gunicorn_url, service_env, tmp_path):
    """A newcomer reads README.md, then docs/cli.md, on the one world `make run` seeded: the page's
    examples must still hold after the tour's changes (a plan of what the tour applied is a 422)."""
    paste([REPO_ROOT / "README.md", REPO_ROOT / "docs" / "cli.md"], seeded(), gunicorn_url, service_env, tmp_path)


def paste(pages, world, gunicorn_url, service_env, tmp_path):
    """Runs the pages' blocks one after the other in one bash session, as a reader pastes them."""
    from app.security.tokens import TokenService

    cwd = scratch(tmp_path)
    (cwd / ".karma" / "admin-token").write_text(TokenService(world).create("docs@usekarma.dev", "admin")[0] + "\n")
    env = {k: v for k, v in service_env.items() if k not in ("KARMA_TOKEN", "VIRTUAL_ENV")}
    env.update(
        KARMA_URL=gunicorn_url,
        KARMA_HANDLES_FILE=str(tmp_path / "handles.json"),
        KARMA_ADMIN_TOKEN_FILE=str(cwd / ".karma" / "admin-token"),
        TMPDIR=str(tmp_path),  # a page's `mktemp -d` scratch folders end with the test's own
        PATH=os.defpath if "PATH" not in env else env["PATH"].replace(str(REPO_ROOT / ".venv" / "bin") + ":", ""),
    )
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "".join(script(page, gunicorn_url) for page in pages)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    where = [ln for ln in run.stdout.splitlines() if ln.startswith("@@block")]
    assert run.returncode == 0, (
        f"{where[-1] if where else pages[-1].name}: a command failed\n--- stdout (tail)\n{run.stdout[-3000:]}"
        f"\n--- stderr (tail)\n{run.stderr[-3000:]}"
    )


def test_a_failing_command_fails_its_file_and_karmas_answers_do_not(tmp_path):
    """The harness itself: a pasted command that fails stops the file; `karma` exit 2/3 are answers."""
    page = tmp_path / "page.md"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "karma").write_text('#!/bin/sh\nexit "$1"\n')
    (fake / "karma").chmod(0o755)
    page.write_text("```sh\nkarma 3\nkarma 2; echo answered\n```\n\n```sh\nfalse\necho never\n```\n")
    run = subprocess.run(
        [
            "bash",
            "--noprofile",
            "--norc",
            "-c",
            script(page, "http://127.0.0.1:9").replace("source .venv/bin/activate", ""),
        ],
        env={"PATH": f"{fake}:{os.defpath}"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1 and "answered" in run.stdout and "never" not in run.stdout
    assert "@@failed (1): false" in run.stdout
