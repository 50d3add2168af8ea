"""The only module that touches durable_rules.

durable_rules 2.0.28 works inside a narrow setup (see docs/rules.md, "Engine notes"), kept here:

* one long-lived ``Host`` subclass per process, created lazily; its ``get_action`` returns a no-op for
  every rule (durable resolves each rule's ``run`` at registration), because the fired rules are read by
  this module's own action loop, :func:`_fired`. Its two background timer threads are not started
  (``_run`` is a no-op): we use neither timers nor asynchronous actions, and those threads would
  otherwise call into the engine outside our lock;
* each version of the compiled rules is registered once under a content-hashed ruleset name (a reload
  registers a new name; names cannot be unregistered, so old versions stay, bounded by the edits);
* everything that touches the engine runs inside one process-wide lock;
* a fired rule whose matches cannot be read fails the evaluation (durable's own loop swallowed an
  action's exception into the state's ``exception``).

One session per registered ruleset, kept for the life of the process. Each evaluation asserts its facts
(ids unique per evaluation), lets the actions run, then retracts the same facts. So only one sid per
ruleset is ever alive (deleting an older sid while a newer one lives crashes the process; a ruleset holds
at most 1024 sids), and an evaluation does not pay for creating a session: durable allocates and clears
about 8 KB per rule for every new session (``ensureStateNode``), which made a fresh sid per evaluation
cost ~1 ms per 500 rules. Should the engine ever fail (an error from ``assert_facts``, an exception in an
action), the session is not touched again (deleting a half-built session crashed the process in our
experiments): the same compiled rules are registered afresh under ``<name>_r<n>`` with a new session.

The actions are run by :func:`_fired`, which makes the engine calls durable's ``Ruleset.do_actions``
makes, in its order and with its arguments, and reads each fired rule's matches as ``(durable rule name,
fact id)``. It is not durable's Python loop because that loop read each batch of matches with the
standard library's JSON reader and wrapped every match in objects the rules never use: most of the
engine's time on a 10-operation change set (issue 21).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import threading
from functools import lru_cache

import durable_rules_engine
import orjson
from durable import engine as durable_engine

from app.policy.compiler import CATCH_ALL
from app.policy.facts import engine_json
from app.policy.errors import PolicyEvaluationError

log = logging.getLogger("karma.policy")

SESSION = "karma"
_LOCK = threading.Lock()
_OWNER: int | None = None  # thread id inside _LOCK (so a signal handler on that thread can tell)
_HOST = None
_SEQUENCE = itertools.count(1)
_CHECK_COUNTER = itertools.count()


def _reinit_after_fork() -> None:  # a lock held by another thread at fork() would never be released
    global _LOCK, _OWNER
    _LOCK = threading.Lock()
    _OWNER = None


class _Locked:
    def __enter__(self):
        global _OWNER
        _LOCK.acquire()
        _OWNER = threading.get_ident()

    def __exit__(self, *exc):
        global _OWNER
        _OWNER = None
        _LOCK.release()


def held_by_current_thread() -> bool:
    """True inside the engine lock on this thread (e.g. a signal handler interrupted an evaluation)."""
    return threading.get_ident() == _OWNER


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def _noop(c):
    return None


class KarmaHost(durable_engine.Host):
    def get_action(self, action_name):
        return _noop  # never called: _fired reads what fired (see the module docstring)

    def _run(self):
        # No dispatch/timer threads (see the module docstring): actions run synchronously in _fired.
        return None


def _host() -> KarmaHost:
    global _HOST
    if _HOST is None:
        _HOST = KarmaHost()
    return _HOST


class _Registration:
    def __init__(self, definition: dict):
        self.definition = definition
        self.generation = 0
        self.evaluations = 0

    def physical(self, name: str) -> str:
        return name if self.generation == 0 else f"{name}_r{self.generation}"


_REGISTRY: dict[str, _Registration] = {}


def register(name: str, definition: dict) -> None:
    """Register a compiled ruleset once under its content-hashed name. A refusal is final: the compiler
    emits nothing durable refuses by chance (the old intermittent error 102 is explained and avoided in
    app.policy.compiler, ITEM_TRAILER), so a refusal is a property of the rule set, never retried."""
    with _Locked():
        if name in _REGISTRY:
            return
        reg = _Registration(definition)
        _host().set_rulesets({reg.physical(name): copy.deepcopy(definition)})  # durable mutates it
        _REGISTRY[name] = reg


def generation(name: str) -> int:
    """How many times the ruleset was re-registered after an engine error (0: never)."""
    return _REGISTRY[name].generation if name in _REGISTRY else 0


def _retire(name: str) -> None:
    reg = _REGISTRY[name]
    reg.generation += 1
    _host().set_rulesets({reg.physical(name): copy.deepcopy(reg.definition)})
    log.error(
        "durable_rules: engine error; its session is left alone and rule set %s is served from a fresh registration %s",
        name,
        reg.physical(name),
    )


def _matches(text: str) -> dict:
    """A batch of matches as durable writes it (``{rule name: matches}``). Only the matched facts' ids are
    read, the ids this module wrote, so orjson reads it; the standard library takes what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _ids(matches) -> list:
    """The ids of a fired rule's matches, as durable's ``Closure`` shows them to an action: a rule with
    ``cap`` fires with a list of ``{"m": fact}``, one without with ``{"m": fact}``."""
    if isinstance(matches, list):
        return [(m["m"] if "m" in m and len(m) == 1 else m).get("id") for m in matches]
    return [matches["m"].get("id")]


def _fired(engine_handle, state_handle, hits: list | None) -> None:
    """Run the actions durable queued for the session: the engine calls of durable's ``do_actions`` (start,
    then per fired rule: write the state back, complete and start the next), each rule's matches
    appended to ``hits`` as (durable rule name, fact id), the catch-all's left out (``hits`` None: the
    retraction's, recorded nowhere). An error in reading a match is an action's failure."""
    result = durable_rules_engine.start_action_for_state(engine_handle, state_handle)
    if not result:
        return
    state = json.dumps(json.loads(result[0]), ensure_ascii=False)  # what durable writes back, unchanged
    batch = result[1]
    while batch:
        rule, matches = next(iter(_matches(batch).items()))  # one fired rule per batch, as durable reads it
        if hits is not None and rule != CATCH_ALL:
            try:
                hits.extend((rule, fact_id) for fact_id in _ids(matches))
            except Exception as exc:  # noqa: BLE001 - what durable swallowed into the state as the action's
                raise PolicyEvaluationError(f"a rule action failed inside durable_rules: {exc!r}") from None
        durable_rules_engine.update_state(engine_handle, state)
        batch = durable_rules_engine.complete_and_start_action(engine_handle, state_handle)


def run(name: str, flat_facts: list[dict]) -> list[tuple[str, str]]:
    """Assert the facts, collect (durable rule name, fact id) matches, retract the facts."""
    if not flat_facts:
        return []
    with _Locked():
        reg = _REGISTRY[name]
        ruleset = _host().get_ruleset(reg.physical(name))
        prefix = f"{next(_SEQUENCE)}:"
        for fact in flat_facts:
            fact["sid"] = SESSION
            fact["id"] = prefix + fact["id"]
        payload = engine_json(flat_facts)
        hits: list[tuple[str, str]] = []
        try:
            engine_handle = ruleset._handle  # noqa: SLF001 - the engine's own session handle
            handle = ruleset._handle_result(  # noqa: SLF001 - raises NotHandled / Observed
                durable_rules_engine.assert_facts(engine_handle, payload), flat_facts
            )
            _fired(engine_handle, handle, hits)
            handle = ruleset._handle_result(  # noqa: SLF001
                durable_rules_engine.retract_facts(engine_handle, payload), flat_facts
            )
            _fired(engine_handle, handle, None)
        except Exception as exc:  # any engine error: never touch that session again
            message = getattr(exc, "message", None) or str(exc)
            try:
                _retire(name)
            except Exception:
                log.exception("durable_rules: re-registering %s failed", name)
            if isinstance(exc, PolicyEvaluationError):
                raise
            raise PolicyEvaluationError(f"durable_rules failed to evaluate the facts: {message}") from None
        reg.evaluations += 1
    n = len(prefix)
    return [(action, fact_id[n:]) for action, fact_id in hits]


def live_sessions(name: str) -> list[str]:
    """Sessions durable holds for the current registration of ``name`` (for tests): at most ``[SESSION]``."""
    with _Locked():
        reg = _REGISTRY[name]
        ruleset = _host().get_ruleset(reg.physical(name))
        try:
            state = ruleset.get_state(SESSION)
        except Exception:  # noqa: BLE001 - no session yet
            return []
        return [state["sid"]] if state else []


# ------------------------------------------------------------------ compile checks (no Host, no sessions)
def _try_create(definition: dict) -> str | None:
    """None when durable_rules creates the ruleset, else why not (each try costs well under a millisecond)."""
    name = f"karma_check_{os.getpid()}_{next(_CHECK_COUNTER)}"
    with _Locked():
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
    return f"durable_rules' regex compiler refuses this pattern ({error}): simplify it"


def ruleset_error(definition: dict) -> str | None:
    """Whether durable_rules accepts the whole compiled ruleset (the ``run`` entries are dropped)."""
    stripped = {k: {kk: vv for kk, vv in v.items() if kk != "run"} for k, v in definition.items()}
    return _try_create(stripped)
