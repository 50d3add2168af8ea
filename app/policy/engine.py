"""PolicyEngine: the rule set of one process, hot-reloaded from its directory, evaluated by durable_rules.

    engine = PolicyEngine(rules_dir)
    engine.load()                       # RuleFileError if any file is broken
    decisions = engine.evaluate(facts)  # list[Decision]: reject > block > require_approval > warn, id, component

``evaluate`` first calls ``maybe_reload``: at most once per second it stats the rule files and, when their
names/mtimes/sizes changed, reloads. A broken edit keeps the last good rule set, is logged at ERROR on
logger ``karma.policy`` once per distinct edit, and shows in ``status()['last_error']``. So every gunicorn
worker converges on edited files without a signal. ``reload()`` is safe from a signal handler: if the
signal interrupted this thread inside the engine, the reload is deferred to the next evaluation
(``request_reload()`` always does that).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.clock import rfc3339, utcnow
from app.observability import metrics
from app.policy import derive, host, loader, template
from app.policy.compiler import CompiledRuleSet
from app.policy.facts import flatten_distinct
from app.policy.last_good import LastGood
from app.policy.effects import SEVERITY
from app.policy.errors import RuleFileError

log = logging.getLogger("karma.policy")


@dataclass(frozen=True)
class Decision:
    rule_id: str
    effect: str  # reject | block | require_approval | warn
    message: str
    component: str  # the impacted component that triggered it (or the changed one, change-level rules)
    path: list[str] = field(default_factory=list)  # changed component ... component
    edge_kinds: list[str] = field(default_factory=list)  # kinds of the edges along path
    file: str = ""  # the rule file name
    approver_role: str | None = None  # require_approval: the role that may approve
    liftable: bool = False  # a transition step could lift it (its rule's remedies, or a wait): search offered

    def to_dict(self) -> dict:
        """Its fields as a new dict, in their order (``asdict`` deep-copied every field: 28 decisions
        of a 10-operation set cost 2 ms)."""
        return {
            "rule_id": self.rule_id,
            "effect": self.effect,
            "message": self.message,
            "component": self.component,
            "path": list(self.path),
            "edge_kinds": list(self.edge_kinds),
            "file": self.file,
            "approver_role": self.approver_role,
            "liftable": self.liftable,
        }

    def sort_key(self) -> tuple:
        return SEVERITY.get(self.effect, 99), self.rule_id, self.component


def _now_iso() -> str:
    return rfc3339(utcnow())  # the answers' one form (GET /admin/rules)


def _decision(rule, fact: dict) -> Decision:
    """What ``rule`` decides on the fact it matched: the impacted component (or the changed one, for a
    change-level rule), along its path."""
    change = fact.get("change") or {}
    impacted = fact.get("impacted")
    if impacted is not None:
        component = impacted.get("id")
        path = list(impacted.get("path") or [change.get("component"), component])
        edge_kinds = list(impacted.get("edge_kinds") or [])
    else:
        component = change.get("component")
        path = [component]
        edge_kinds = []
    return Decision(
        rule_id=rule.id,
        effect=rule.effect,
        message=template.render(rule.message, fact),
        component=str(component),
        path=[str(p) for p in path],
        edge_kinds=[str(e) for e in edge_kinds],
        file=rule.file,
        approver_role=(rule.approver_role or "approver") if rule.effect == "require_approval" else None,
        liftable=rule.liftable,
    )


class PolicyEngine:
    def __init__(self, rules_dir, *, check_interval: float = 1.0, last_good: LastGood | None = None):
        self.rules_dir = Path(rules_dir)
        self.check_interval = check_interval
        self.last_good = last_good  # shared by the workers of one rules directory (app/policy/last_good.py)
        self._active: CompiledRuleSet | None = None
        self._loaded_at: str | None = None
        self._last_error: str | None = None
        self._last_error_at: str | None = None
        self._seen_signature: tuple | None = None  # signature of the files last read (good or broken)
        self._next_check = 0.0
        self._reload_lock = threading.Lock()
        self._reload_owner: int | None = None  # thread id holding _reload_lock (see reload)
        self._pending_reload = False

    # ------------------------------------------------------------------ loading
    def _build_and_register(self, directory: Path | None = None) -> CompiledRuleSet:
        directory = directory or self.rules_dir
        compiled = loader.build(directory, check_engine=False)  # registering is the engine check
        try:
            host.register(compiled.name, compiled.definition)
        except Exception as exc:  # durable errors are load errors
            raise RuleFileError(f"{directory}: durable_rules refused the rule set: {exc}") from exc
        if directory == self.rules_dir and self.last_good is not None:
            self.last_good.save(self.rules_dir, compiled.fingerprint)  # the other workers' last good too
        return compiled

    def _adopt_last_good(self) -> None:
        """After a broken edit: the newest good set any worker loaded, when it is not this one's — so
        every worker keeps the same last good rules, not each its own (keeps the error on record)."""
        shared = self.last_good.current() if self.last_good is not None else None
        if shared is None or shared[0] == self.fingerprint:
            return
        try:
            compiled = self._build_and_register(shared[1])
        except Exception as exc:  # noqa: BLE001 - the copy is unusable: keep this worker's own
            log.warning("the shared last good rule set could not be loaded: %s", exc)
            return
        previous, self._active = self.fingerprint, compiled
        log.warning(
            "policy rules: adopted the last good rule set another worker loaded (%s, %d rules; was %s)",
            compiled.fingerprint,
            compiled.rule_count,
            previous,
        )

    def _activate(self, compiled: CompiledRuleSet) -> None:
        self._active = compiled
        self._loaded_at = _now_iso()
        self._last_error = None
        self._last_error_at = None
        if not compiled.rules:
            log.warning("no policy rules loaded from %s: every change is allowed by policy", self.rules_dir)
        for rule in compiled.rules.values():  # a type or key the loaded types lack (app.policy.vocabulary)
            for why in rule.inert:
                log.warning(
                    "policy rule %s names what the loaded types lack: %s", rule.id, why, extra={"inert_rule": rule.id}
                )

    @contextmanager
    def _locked(self):
        with self._reload_lock:
            self._reload_owner = threading.get_ident()
            try:
                yield
            finally:
                self._reload_owner = None

    def load(self) -> None:
        """Read and compile every rule file; raise RuleFileError (naming file and field) if any is broken."""
        with self._locked():
            signature = self._signature_or_none()
            compiled = self._build_and_register()
            self._seen_signature = signature
            self._next_check = time.monotonic() + self.check_interval
            self._activate(compiled)
            log.info(
                "policy rules loaded",
                extra={
                    "rules": compiled.rule_count,
                    "fingerprint": compiled.fingerprint,
                    "rules_dir": str(self.rules_dir),
                },
            )

    def request_reload(self) -> None:
        """Reload on the next evaluation (safe anywhere, e.g. in a signal handler)."""
        self._pending_reload = True
        self._next_check = 0.0

    def _signature_or_none(self) -> tuple | None:
        try:
            return loader.stat_signature(self.rules_dir)
        except (RuleFileError, OSError):
            return None

    def reload(self, force: bool = True) -> dict:
        """Re-read the files (only if they changed, unless ``force``). A broken edit keeps the last good set.

        Called on a thread that is already inside this engine or durable_rules (a signal handler that
        interrupted an evaluation or a reload), it cannot wait for that work to finish: it defers the
        reload to the next evaluation and says so (``"deferred": True``) instead of deadlocking.
        """
        if self._reload_owner == threading.get_ident() or host.held_by_current_thread():
            self.request_reload()
            report = self._report(ok=True, changed=False)
            report["deferred"] = True
            return report
        with self._locked():
            return self._reload_locked(self._signature_or_none(), force=force)

    def _reload_locked(self, signature: tuple | None, *, force: bool) -> dict:
        self._next_check = time.monotonic() + self.check_interval
        self._pending_reload = False
        if not force and signature is not None and signature == self._seen_signature and self._active:
            return self._report(ok=True, changed=False)
        self._seen_signature = signature
        previous = self._active.fingerprint if self._active else None
        try:
            compiled = self._build_and_register()
        except Exception as exc:  # whatever broke, keep serving the last good rules
            error = str(exc) if isinstance(exc, RuleFileError) else f"{type(exc).__name__}: {exc}"
            self._last_error = error
            self._last_error_at = _now_iso()
            metrics.rule_reload("failed")
            self._adopt_last_good()
            log.error(
                "policy rules NOT reloaded from %s, keeping the last good rule set (%s, %d rules): %s",
                self.rules_dir,
                self.fingerprint,
                self.rule_count,
                error,
                exc_info=not isinstance(exc, RuleFileError),
            )
            return {
                "ok": False,
                "error": error,
                "errors": getattr(exc, "errors", [error]),
                "active_fingerprint": self.fingerprint,
                "rules": self.rule_count,
            }
        self._activate(compiled)
        changed = compiled.fingerprint != previous
        metrics.rule_reload("changed" if changed else "unchanged")
        log.info(
            "policy rules reloaded" if changed else "policy rules unchanged",
            extra={"rules": compiled.rule_count, "fingerprint": compiled.fingerprint},
        )
        return self._report(ok=True, changed=changed)

    def maybe_reload(self) -> None:
        """Cheap; at most once per ``check_interval``: reload when the files' names/mtimes/sizes changed."""
        now = time.monotonic()
        if now < self._next_check:
            return
        if self._reload_owner == threading.get_ident() or not self._reload_lock.acquire(blocking=False):
            return  # another thread is checking (or this one, interrupted): keep using the current rule set
        self._reload_owner = threading.get_ident()
        try:
            if now < self._next_check:
                return
            self._next_check = now + self.check_interval
            signature = self._signature_or_none()
            if self._pending_reload or signature != self._seen_signature:
                self._reload_locked(signature, force=True)
        finally:
            self._reload_owner = None
            self._reload_lock.release()

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, facts: list[dict], now: datetime | None = None) -> list[Decision]:
        """Decisions of the loaded rules on ``facts``; ``now`` is the request time (time conditions), the
        current time when not given (tests and replays pass it, so they are deterministic)."""
        return self.evaluate_many([facts], now=now)[0]

    def evaluate_many(self, fact_lists: list[list[dict]], now: datetime | None = None) -> list[list[Decision]]:
        """The decisions on each list of facts, as ``evaluate`` would give them one list at a time, from
        ONE engine run: a change set's operations are judged together (a 10-operation set asserted and
        retracted ten times, and flattened ten times, issue 21). Each list is derived on its own (its
        counts and time conditions are its own); every compiled rule matches one fact, so facts of
        different lists never meet in a rule."""
        self.maybe_reload()
        active = self._active
        if active is None:
            self.load()
            active = self._active
        if not active.rules or not any(fact_lists):
            return [[] for _ in fact_lists]
        owner: list[int] = []  # the list each fact of the run came from
        facts: list[dict] = []
        for i, listed in enumerate(fact_lists):
            if listed:
                derived = derive.apply(active.derivations, listed, now)
                facts += derived
                owner += [i] * len(derived)
        asserted, twins = flatten_distinct(facts, active.shards)
        # per list, (rule, component) -> (path length, row, decision): the shortest path, and among equally
        # short ones the fact listed first — never the order in which the engine happens to fire
        best: list[dict[tuple, tuple[int, int, Decision]]] = [{} for _ in fact_lists]
        for action, fact_id in host.run(active.name, asserted):
            rule = active.rules.get(active.actions.get(action, ""))
            if rule is None:
                continue
            for twin in twins[fact_id]:
                row = int(twin.split(".", 1)[0])
                decision = _decision(rule, facts[row])
                key = (rule.id, decision.component)
                ranked = (len(decision.path), row, decision)
                kept = best[owner[row]].get(key)
                if kept is None or ranked[:2] < kept[:2]:
                    best[owner[row]][key] = ranked
        return [sorted((d for _n, _r, d in found.values()), key=Decision.sort_key) for found in best]

    # ------------------------------------------------------------------ introspection
    @property
    def rule_count(self) -> int:
        return self._active.rule_count if self._active else 0

    @property
    def fingerprint(self) -> str | None:
        return self._active.fingerprint if self._active else None

    def rules(self) -> list:
        return list(self._active.rules.values()) if self._active else []

    def rule(self, rule_id: str):
        """The active rule `rule_id`, or None (no such rule, or one whose file says `enabled: false`)."""
        active = self._active
        return active.rules.get(rule_id) if active else None

    def rule_source(self, rule) -> tuple[int, str] | None:
        """The rule's YAML as its file said it when the active set was read, and the line it starts on:
        not the file as it is now — an edit saved since (broken, or not yet reloaded) decides nothing."""
        active = self._active
        text = active.sources.get(rule.file) if active else None
        return loader.rule_text(text, rule.index) if text is not None else None

    def _report(self, *, ok: bool, changed: bool) -> dict:
        report = self.status()
        report.update(ok=ok, changed=changed, active_fingerprint=report["fingerprint"])
        return report

    def status(self) -> dict:
        active = self._active
        return {
            "rules_dir": str(self.rules_dir),
            "rules": self.rule_count,
            "rule_ids": sorted(active.rules) if active else [],
            "disabled": sorted(active.disabled) if active else [],
            "files": list(active.files) if active else [],
            "fingerprint": active.fingerprint if active else None,
            "ruleset": active.name if active else None,
            "loaded_at": self._loaded_at,
            "last_error": self._last_error,
            "last_error_at": self._last_error_at,
        }
