"""Python's cyclic garbage collector paused while an analysis request (plan, apply, approve, rollback)
runs.

Why: a 10,000-affected plan allocates millions of small objects (rows, facts, keys) while the rows it
built stay alive, so CPython's collector keeps re-scanning them as they pile up: about a third of the
analysis' CPU at 10,000 affected (issue 21, docs/performance.md). Reference counting still frees at once
everything that is not in a cycle; only cycles made during the request wait for the collector.

The collector is process-wide, so pauses are counted across threads: it resumes when the last paused
request ends. If paused requests keep overlapping, the request ending after MAX_PAUSED_S since the
pause began runs one full collection, so what waits stays bounded.
"""

from __future__ import annotations

import gc
import threading
import time

from flask import Flask, g, request

MAX_PAUSED_S = 10.0
# What flask-smorest keeps of the answer in `g` (`result_dump`, for the ETags it computes before the response
# is returned) until the app context ends, after the teardown. Dropped before the collector resumes: its
# first collection walks every object made during the pause that is still alive, and a 10,000-affected
# plan's answer is ~90,000 of them (~30 ms, issue 21). Freed here, as it would be moments later.
ANSWER_KEPT = "_flask_smorest"

_lock = threading.Lock()
_active = 0  # requests inside a pause
_since = 0.0  # when the collector was paused (or last collected during an unbroken pause)
_resume = False  # whether the collector was enabled when the pause began (tests may have it off)


def pause() -> None:
    global _active, _since, _resume
    with _lock:
        if _active == 0:
            _resume, _since = gc.isenabled(), time.monotonic()
            gc.disable()
        _active += 1


def resume() -> None:
    """End one request's pause: the collector resumes with the last one (or collects, past MAX_PAUSED_S)."""
    global _active, _since
    collect = False
    with _lock:
        if _active == 0:
            return
        _active -= 1
        if _active == 0:
            if _resume:
                gc.enable()
        elif time.monotonic() - _since > MAX_PAUSED_S:
            _since, collect = time.monotonic(), True
    if collect:
        gc.collect()


def install(app: Flask, endpoints: set[str]) -> None:
    """Pause for the requests to `endpoints`, from before their first hook to their teardown (which Flask
    runs whatever happened: an error, an abort in a later hook)."""

    def _pause() -> None:
        if request.endpoint in endpoints:
            pause()
            g.karma_gc_paused = True

    def _resume(_exc=None) -> None:
        if g.pop("karma_gc_paused", False):
            g.pop(ANSWER_KEPT, None)
            resume()

    app.before_request(_pause)
    app.teardown_request(_resume)
