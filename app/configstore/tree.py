"""A config tree on disk — the layout of config repositories such as usekarma/aws-config:

    iac/<environment>/<type>/<nickname>/config.json     (runtime.json beside it, where the tree keeps one)

A new file is written deterministically (sorted keys, two-space indent, a trailing newline: the same
config always gives the same bytes); an existing one keeps its layout, only what changed is changed in its
text (app/configstore/layout.py: a hand-written repository's `git diff` shows the change, not a
reformatting). Files are written atomically (a temporary file renamed over the old one), and a delete
removes the component's files and the directories it emptied.
When the directory is inside a git work tree, each change becomes ONE commit of exactly its own paths
(`git commit -- <paths>`: whatever else is staged there is left alone), authored by whoever requested
it; the message names the log entry and the diff, and carries `Karma-Event-Id:` so a redelivered event
is recognised and never committed twice. The real `git` binary, through subprocess, with bounded waits.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path

from app.configstore.layout import keep_layout

log = logging.getLogger("karma.configstore")

CONFIG_FILE = "config.json"
RUNTIME_FILE = "runtime.json"
GIT_TIMEOUT = 30.0  # seconds per git command: a wedged git is a failed (retried) delivery, not a hang
EVENT_TRAILER = "Karma-Event-Id"
COMMITTER = ("karma", "karma@localhost")


class GitError(RuntimeError):
    """A git command failed (its stderr, shortened); the delivery is retried."""


def dumps(value) -> str:
    """The one formatting of a new file in the tree."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(value, existing: str | None) -> str:
    """The text a file saying `value` gets: a new one (`existing` None) the one deterministic format, an
    existing one its own text changed as little as it takes (layout.keep_layout)."""
    return dumps(value) if existing is None else keep_layout(existing, value)


def read_text(path: Path) -> str | None:
    """A file's text exactly (CRLF stays CRLF: `Path.read_text` would translate it), None when there is
    no file or it is not UTF-8 (then it is written as a new one)."""
    try:
        return path.read_bytes().decode("utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def identity(who: str | None) -> tuple[str, str]:
    """A git author for an identity: `ted@strall.com` → (ted@strall.com, ted@strall.com); anything
    that is not an address (`cli:alice`) gets a `.invalid` address, so git never guesses one."""
    who = re.sub(r"[<>\n\r]", "", who or "unknown").strip() or "unknown"
    email = who if re.fullmatch(r"[^@\s]+@[^@\s]+", who) else re.sub(r"[^A-Za-z0-9._-]", "-", who) + "@karma.invalid"
    return who, email


# The work tree holding a directory, by the directory's real path: what `git rev-parse --show-toplevel`
# answered, kept while git would still find that repository from there (_still_top). Every write-back
# delivery records its work tree: a git process each time for an answer that does not change.
_WORK_TREES: dict[str, str] = {}


def _still_top(directory: str, top: str) -> bool:
    """Whether git would still find `top` as the work tree of `directory` (both real paths), judged by what
    git itself looks for, with no process: a `.git` (a directory, or a file for a linked work tree or a
    submodule) at `top` and none between. A repository removed or moved away (its `.git` gone), or a new
    one made inside it (`git init` in a subdirectory), is asked of git again; one re-cloned at the same
    path has the same top. A symlink to the directory repointed elsewhere is another real path, another key."""
    if not os.path.lexists(os.path.join(top, ".git")):
        return False
    here = directory
    while here != top:
        if os.path.lexists(os.path.join(here, ".git")):
            return False
        parent = os.path.dirname(here)
        if parent == here:  # `top` is not above `directory`
            return False
        here = parent
    return True


class ConfigTree:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.root = self.directory / "iac"

    # -- paths --------------------------------------------------------------------------------------
    def component_dir(self, environment: str, type_name: str, nickname: str) -> Path:
        parts = (environment, type_name, nickname)
        if not all(isinstance(p, str) and p and "/" not in p and p not in (".", "..") for p in parts):
            raise ValueError(f"not a tree path: {parts!r}")
        return self.root.joinpath(*parts)

    # -- files --------------------------------------------------------------------------------------
    def write(self, path: Path, value) -> bool:
        """Write `value` to `path`, keeping the layout of the file there (True when the bytes changed)."""
        existing = read_text(path)
        text = render(value, existing)
        if existing == text:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".karma-{secrets.token_hex(8)}.tmp"
        # the permissions a file had, or a new file's as any other program's (0666 less the umask): a
        # temporary file's own 0600 made an operator's 0644 config unreadable to a deploy user reading the tree
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                if path.is_file():
                    os.fchmod(fh.fileno(), stat.S_IMODE(path.stat().st_mode))
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

    def remove(self, component_dir: Path) -> list[Path]:
        """Remove a component's files, then each directory this emptied up to iac/ → the removed files."""
        gone = []
        for name in (CONFIG_FILE, RUNTIME_FILE):
            path = component_dir / name
            if path.is_file():
                path.unlink()
                gone.append(path)
        directory = component_dir
        while directory != self.root and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
            directory = directory.parent
        return gone

    @contextmanager
    def locked(self):
        """One writer at a time on this host (the worker's passes, `karma outbox deliver`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock_dir = self.git_dir() or self.directory
        with open(lock_dir / ".karma-config-store.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- git ----------------------------------------------------------------------------------------
    def git(
        self, *args: str, env: dict | None = None, check: bool = True, stdin: str | None = None, raw: bool = False
    ) -> subprocess.CompletedProcess:
        """Run git in the tree; `raw`: stdout as bytes (a file's content, its line endings untranslated)."""
        try:
            done = subprocess.run(
                ["git", "-C", str(self.directory), *args],
                capture_output=True,
                input=stdin,
                text=not raw,
                timeout=GIT_TIMEOUT,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git {args[0]}: {exc}") from None
        if check and done.returncode != 0:
            stderr = done.stderr.decode(errors="replace") if raw else done.stderr
            raise GitError(f"git {args[0]} failed ({done.returncode}): {stderr.strip()[-400:]}")
        return done

    def git_dir(self) -> Path | None:
        """The git directory when the tree is inside a git work tree, else None."""
        if not self.directory.is_dir():
            return None
        try:
            done = self.git("rev-parse", "--absolute-git-dir", check=False)
        except GitError:
            return None
        return Path(done.stdout.strip()) if done.returncode == 0 else None

    def branch(self) -> str | None:
        """The branch HEAD is on (`refs/heads/main`), None on a detached HEAD (a checkout of a commit, a
        rebase in progress): a commit made there belongs to no branch and is lost at the next checkout."""
        done = self.git("symbolic-ref", "-q", "HEAD", check=False)
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    def uncommitted(self, paths: list[Path]) -> list[Path]:
        """Those of `paths` that differ from HEAD in the index or the work tree, or are untracked."""
        if not paths:
            return []
        rel = {str(p.relative_to(self.directory)): p for p in paths}
        prefix = self.git("rev-parse", "--show-prefix").stdout.strip()  # porcelain paths are from the top
        done = self.git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", *rel)
        dirty = {line[3:] for line in done.stdout.split("\0") if len(line) > 3}
        return [p for r, p in rel.items() if prefix + r in dirty]

    def committed_text(self, path: Path) -> str | None:
        """`path` as HEAD has it, as a checkout would write it (`--filters`: the work tree's line endings),
        None when HEAD has no such file (or it is not UTF-8) — what a write-back from HEAD starts from."""
        rel = str(path.relative_to(self.directory))
        done = self.git("cat-file", "--filters", f"HEAD:./{rel}", check=False, raw=True)
        if done.returncode != 0:
            return None
        try:
            return done.stdout.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def last_commit(self, path: Path) -> str | None:
        """The last commit that touched `path` (`<hash> <author>: <subject>`), None when none ever did."""
        rel = str(path.relative_to(self.directory))
        done = self.git("log", "-1", "--format=%h %an: %s", "--", rel, check=False)
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    def committed(self, event_id: str) -> str | None:
        """The commit of this event already in the history (a redelivery), else None."""
        return self._carrying([event_id], "--all", check=False).get(event_id)

    def commits_of(self, event_ids) -> dict[str, str]:
        """{event id: a commit carrying its Karma-Event-Id} anywhere in this repository — every ref and every
        reflog (a commit a reset left behind is still found until the reflog expires): the commit of a
        write-back delivered before Karma recorded commits on its outbox entry. One git process."""
        return self._carrying(event_ids, "--all", "--reflog")

    def _carrying(self, event_ids, *revs: str, check: bool = True) -> dict[str, str]:
        """{event id: the newest commit reachable from `revs` whose message carries its Karma-Event-Id trailer},
        for all of `event_ids` in ONE `git log` (a -F grep each, any matching); the trailer is then read
        exactly (`evt-1` is not `evt-12`, which the substring grep also matched)."""
        wanted = set(event_ids)
        if not wanted:
            return {}
        greps = [f"--grep={EVENT_TRAILER}: {event}" for event in sorted(wanted)]
        done = self.git("log", *revs, "-F", *greps, "--format=%H%n%B%x00", check=check)
        if done.returncode != 0:
            return {}
        found: dict[str, str] = {}
        for record in done.stdout.split("\0"):
            sha, _, body = record.strip("\n").partition("\n")
            for event in re.findall(rf"^{EVENT_TRAILER}: (\S+)$", body, flags=re.MULTILINE):
                if event in wanted:
                    found.setdefault(event, sha)
        return found

    def work_tree(self) -> str | None:
        """The top of the git work tree holding this directory (symlinks resolved), None outside git: what
        a write-back's delivery records beside its commit, and what an import of a tree compares it to —
        the same working copy, whatever subdirectory (the tree, its iac/) either was given as. Git is asked
        once per directory while the answer stands (_WORK_TREES, _still_top), not on every delivery."""
        if not self.directory.is_dir():
            return None
        real = os.path.realpath(self.directory)
        known = _WORK_TREES.get(real)
        if known is not None and _still_top(real, known):
            return known
        top = self._toplevel()
        if top is not None and _still_top(real, top):
            _WORK_TREES[real] = top
        else:  # outside git, or found by other means than a `.git` (GIT_WORK_TREE, core.worktree): asked each time
            _WORK_TREES.pop(real, None)
        return top

    def _toplevel(self) -> str | None:
        """`git rev-parse --show-toplevel`, symlinks resolved (None outside git)."""
        try:
            done = self.git("rev-parse", "--show-toplevel", check=False)
        except GitError:
            return None
        top = done.stdout.strip()
        return os.path.realpath(top) if done.returncode == 0 and top else None

    def lost(self, commits: dict[str, str]) -> dict[str, bool]:
        """Of `commits` ({hash: its Karma-Event-Id}), those HEAD's history does not hold → {hash: whether the
        object is still in the repository (a `git cherry-pick` can bring it back)}. A commit is held when it
        is an ancestor of HEAD, or when a copy of it is — a commit carrying its event id trailer (a
        cherry-pick, a rebase that rewrote it). A constant number of git processes whatever the count: one
        lookup of every object, one walk of what they hold that HEAD does not (as long as the divergence),
        and, only when some are off HEAD's history, one search of it for their trailers."""
        if not commits:
            return {}
        shas = sorted(commits)
        kinds = self.git("cat-file", "--batch-check=%(objecttype)", stdin="HEAD\n" + "\n".join(shas) + "\n")
        head, *found = kinds.stdout.splitlines()
        present = [sha for sha, kind in zip(shas, found, strict=True) if kind == "commit"]
        off = set(shas) - set(present)
        if head != "commit":  # an unborn branch: no history holds anything
            off |= set(present)
        elif present:
            walked = self.git("rev-list", "--stdin", stdin="\n".join([*present, "^HEAD"]) + "\n").stdout.split()
            off |= set(present) & set(walked)
        if off and head == "commit":
            off -= self._copied(off, commits)
        return {sha: sha in present for sha in sorted(off)}

    def _copied(self, shas: set[str], commits: dict[str, str]) -> set[str]:
        """Those of `shas` whose event id trailer a commit in HEAD's history carries (a cherry-pick, a
        rebase): the change is in the tree under another hash."""
        events = {commits[sha]: sha for sha in shas}
        held = self._carrying(events, "HEAD")
        return {sha for event, sha in events.items() if event in held}

    def commit(self, paths: list[Path], *, author: str, message: str) -> str | None:
        """Commit exactly `paths` (written or removed) as one commit → its hash (None: nothing changed)."""
        rel = [str(p.relative_to(self.directory)) for p in paths]
        tracked = set(self.git("ls-files", "-z", "--", *rel).stdout.split("\0")) if rel else set()
        rel = [r for r, p in zip(rel, paths, strict=True) if p.exists() or r in tracked]
        if not rel:
            return None
        found = self.git("ls-files", "-s", "-z", "--full-name", "--", *rel).stdout  # the index as found
        try:
            self.git("add", "-A", "--", *rel)
            if self.git("diff", "--cached", "--quiet", "--", *rel, check=False).returncode == 0:
                return None
            name, email = identity(author)
            env = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": COMMITTER[0],
                "GIT_COMMITTER_EMAIL": COMMITTER[1],
            }
            self.git("commit", "-q", "-m", message, "--", *rel, env=env)
        except GitError:
            self._restore_index(rel, found)
            raise
        return self.git("rev-parse", "HEAD").stdout.strip()

    def _restore_index(self, rel: list[str], found: str) -> None:
        """Put the index entries of `rel` back as `found` (`ls-files -s -z --full-name`) after a failed
        commit (a refusing hook): what this attempt staged would otherwise ride along in whatever commit
        is made next there — an operator's `git commit`, or a later attempt's. The written files stay (the
        retry writes the same bytes); a failure here is logged, never hiding the commit's own error."""
        try:
            self.git("rm", "--cached", "-q", "-f", "--ignore-unmatch", "--", *rel)
            if found:
                self.git("update-index", "-z", "--index-info", stdin=found)
        except GitError as exc:
            log.warning("config store: index not restored after a failed commit", extra={"error": str(exc)})
