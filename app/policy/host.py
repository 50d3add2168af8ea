"""The only module that touches durable_rules.

durable_rules 2.0.28 works inside a narrow setup (see docs/rules.md, "Engine notes"), kept here:

* one long-lived ``Host`` subclass per process, created lazily; its ``get_action`` returns our actions.
  Its two background timer threads are not started (``_run`` is a no-op): we use neither timers nor
  asynchronous actions, and those threads would otherwise call into the engine outside our lock;
* each version of the compiled rules is registered once under a content-hashed ruleset name (a reload
  registers a new name; names cannot be unregistered, so old versions stay, bounded by the edits);
* per evaluation a fresh uuid sid, and ``assert_facts`` -> read state -> ``delete_state`` inside one
  process-wide lock, so only one sid is ever alive (deleting an older sid while a newer one lives
  crashes the process, and a ruleset holds at most 1024 sids);
* exceptions raised inside actions are swallowed by durable into ``state['exception']``: checked.

Actions are stateless: they record ``(rule id, fact id)`` into the collector of the evaluation that holds
the lock, so a ruleset registered by one PolicyEngine serves any other with the same compiled content.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import threading
import uuid
from functools import lru_cache

import durable_rules_engine
from durable import engine as durable_engine

from app.policy.compiler import CATCH_ALL

log = logging.getLogger("karma.policy")

_LOCK = threading.Lock()
_HOST = None
_COLLECTOR: list | None = None
_CHECK_COUNTER = itertools.count()


class PolicyEvaluationError(RuntimeError):
    """durable_rules failed while evaluating facts (the caller must not treat this as 'allowed')."""


def _reinit_after_fork() -> None:  # a lock held by another thread at fork() would never be released
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def _record(rule_id: str):
    def action(c):
        if _COLLECTOR is not None:
            _COLLECTOR.append((rule_id, c.m["id"]))
    return action


def _noop(c):
    return None


class KarmaHost(durable_engine.Host):
    def get_action(self, action_name):
        if action_name == CATCH_ALL:
            return _noop
        return _record(action_name)

    def _run(self):
        # No dispatch/timer threads (see the module docstring). Synchronous assert_facts runs the actions.
        return None


def _host() -> KarmaHost:
    global _HOST
    if _HOST is None:
        _HOST = KarmaHost()
    return _HOST


def is_registered(name: str) -> bool:
    return _HOST is not None and name in _HOST._ruleset_directory  # noqa: SLF001


def register(name: str, definition: dict) -> None:
    """Register a compiled ruleset once under its content-hashed name."""
    with _LOCK:
        host = _host()
        if name in host._ruleset_directory:  # noqa: SLF001 - durable has no public lookup
            return
        host.set_rulesets({name: copy.deepcopy(definition)})  # durable mutates the definition


def run(name: str, flat_facts: list[dict], sid: str) -> list[tuple[str, str]]:
    """Assert the facts in a fresh session, collect the matches, delete the session."""
    global _COLLECTOR
    if not flat_facts:
        return []
    with _LOCK:
        host = _host()
        hits: list[tuple[str, str]] = []
        _COLLECTOR = hits
        state = None
        try:
            state = host.assert_facts(name, flat_facts)
        except durable_engine.MessageNotHandledException as exc:  # cannot happen with the catch-all rule
            raise PolicyEvaluationError(f"durable_rules did not handle the facts: {exc.message}") from None
        except durable_engine.MessageObservedException as exc:
            raise PolicyEvaluationError(f"durable_rules saw a duplicate fact: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - engine errors surface as evaluation errors
            raise PolicyEvaluationError(f"durable_rules failed: {exc}") from exc
        finally:
            _COLLECTOR = None
            try:
                host.delete_state(name, sid)
            except Exception:  # noqa: BLE001
                log.exception("durable_rules: deleting session %s failed", sid)
    if isinstance(state, dict) and state.get("exception"):
        raise PolicyEvaluationError(f"a rule action failed inside durable_rules: {state['exception']}")
    return hits


def new_sid() -> str:
    return uuid.uuid4().hex


# ------------------------------------------------------------------ compile checks (no Host, no sessions)
def _try_create(definition: dict) -> str | None:
    name = f"karma_check_{os.getpid()}_{next(_CHECK_COUNTER)}"
    with _LOCK:
        try:
            handle = durable_rules_engine.create_ruleset(name, json.dumps(definition, ensure_ascii=False))
        except Exception as exc:  # noqa: BLE001
            return str(exc)
        try:
            durable_rules_engine.delete_ruleset(handle)
        except Exception:  # noqa: BLE001
            log.warning("durable_rules: could not free check ruleset %s", name)
    return None


@lru_cache(maxsize=4096)
def regex_error(pattern: str) -> str | None:
    """Whether durable_rules' regex compiler accepts ``pattern`` (None) or why not."""
    error = _try_create({"r": {"all": [{"m": {"$and": [{"k": "x"}, {"$mt": {"v:s": pattern}}]}}]}})
    if error is None:
        return None
    return f"durable_rules cannot compile this pattern ({error}; e.g. a {{m,n}} bound above 100 or a " \
           "pattern that is too large)"


def ruleset_error(definition: dict) -> str | None:
    """Whether durable_rules accepts the whole compiled ruleset (the ``run`` entries are dropped)."""
    stripped = {k: {kk: vv for kk, vv in v.items() if kk != "run"} for k, v in definition.items()}
    return _try_create(stripped)
