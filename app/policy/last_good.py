"""The last good rule set, shared by the processes that serve one rules directory (gunicorn's workers).

Each worker reloads the rule files on its own (app/policy/engine.py). While the files are good they all
converge on them. A broken edit makes each keep *its own* last good set, and those can differ: a worker
that had not yet read the previous good edit kept the one before it, and identical plans got different
verdicts depending on the worker that answered. So every worker that loads a good set from the files
keeps a copy of those files here (one directory per fingerprint, `current` naming the newest), and a
worker that meets a broken edit adopts that copy when it differs from its own: all of them keep the
same last good set.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from app.policy import loader

log = logging.getLogger("karma.policy")

KEEP = 3  # copies kept (the current one and the two before it)


class LastGood:
    def __init__(self, base: Path):
        self.base = Path(base)

    def save(self, rules_dir: Path, fingerprint: str) -> None:
        """Keep the files of the rule set `fingerprint` (read again; not kept if they changed meanwhile)."""
        try:
            sources, errors = loader.read_sources(rules_dir)
            if errors or loader.fingerprint(sources) != fingerprint:
                return  # the files moved on since they were compiled: the next good load keeps its own
            target = self.base / fingerprint
            if not target.is_dir():
                scratch = self.base / f".{fingerprint}.{os.getpid()}"
                scratch.mkdir(parents=True, exist_ok=True)
                for src in sources:
                    (scratch / src.path.name).write_bytes(src.data)
                try:
                    scratch.rename(target)
                except OSError:  # another worker kept the same set first
                    shutil.rmtree(scratch, ignore_errors=True)
            pointer = self.base / f".current.{os.getpid()}"
            pointer.write_text(fingerprint)
            os.replace(pointer, self.base / "current")
            self._prune(fingerprint)
        except OSError as exc:  # a read-only disk: each worker keeps its own last good set, as before
            log.warning("last good rule set not shared: %s", exc)

    def current(self) -> tuple[str, Path] | None:
        """(fingerprint, directory) of the newest good set a worker loaded, if there is one."""
        try:
            fingerprint = (self.base / "current").read_text().strip()
        except OSError:
            return None
        directory = self.base / fingerprint
        return (fingerprint, directory) if fingerprint and directory.is_dir() else None

    def _prune(self, keep: str) -> None:
        kept = sorted(
            (d for d in self.base.iterdir() if d.is_dir() and not d.name.startswith(".")),
            key=lambda d: d.stat().st_mtime,
            reverse=True,
        )
        for old in [d for d in kept if d.name != keep][KEEP - 1 :]:
            shutil.rmtree(old, ignore_errors=True)
