"""Whether durable_rules' regex engine matches a pattern exactly as the pattern says: checked at load time.

durable_rules 2.0.28 compiles a pattern to a DFA of its own (``src/rules/regex.c``), and that compiler is
wrong for a class of patterns. When it builds a state by merging several (two transitions on one
character, or a ``.`` and a specific character out of one state: ``consolidateTransitions``,
``consolidateDot``), ``ensureState`` drops every specific transition of the merged state as soon as one
merged state accepts and has a ``.`` transition ("this allows for the first match to succeed"); merged
states copy their parts' "deterministic" marks, so a later ``.`` is not merged into them; and merged
states are found again by a 16-bit hash of their parts, compared without the parts. So ``a+.?`` does not
match ``aaaa``, ``[ab]+(.|0)?`` misses ``aaa0``, ``a+0*.{2}`` misses ``a000`` -- only on values long
enough to reach the merged state, which is how the differential corpus found it (a repetition followed
by an optional ``(.|0)``, on long values).

Rather than guess the class from its symptoms, this module runs durable's compiler itself, ported
statement for statement (app.policy.durable_regex: ``createGraph``, ``transformToDFA``, ``expandDot``, ``packGraph``,
``evaluateRegex``), and compares the automaton it builds with a correct one for the same pattern
(Thompson NFA and subsets, over character intervals) on every pair of states reachable together. A
pattern is refused when the two differ, naming the shortest value that shows it. The port is checked
against the real engine (tests/unit/test_rules_regex_engine.py).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

from app.policy.durable_regex import DOT, EMPTY, Durable, Packed, TooLarge

try:  # Python 3.11+: the parser moved
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_NFA_STATES = 20_000
TOP = 0x110000
ANY = "any"


class _Nfa:
    def __init__(self):
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[object, int]]] = []  # (ANY | tuple of (lo, hi) intervals, target)

    def state(self) -> int:
        if len(self.eps) >= MAX_NFA_STATES:
            raise TooLarge
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, items, start: int) -> int:
        """Adds the parsed sequence after ``start``; returns its end state."""
        cur = start
        for op, av in items:
            cur = self.item(op, av, cur)
        return cur

    def item(self, op, av, start: int) -> int:
        if op in (sre_c.LITERAL, sre_c.ANY, sre_c.IN):
            end = self.state()
            label = ANY if op is sre_c.ANY else _intervals(op, av)
            self.edges[start].append((label, end))
            return end
        if op is sre_c.SUBPATTERN:
            return self.build(av[-1], start)
        if op is sre_c.BRANCH:
            end = self.state()
            for seq in av[1]:
                s = self.state()
                self.eps[start].append(s)
                self.eps[self.build(seq, s)].append(end)
            return end
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, seq = av
            cur = start
            for _ in range(low):
                cur = self.build(seq, cur)
            if high == sre_c.MAXREPEAT:
                loop = self.state()
                self.eps[cur].append(loop)
                self.eps[self.build(seq, loop)].append(loop)
                return loop
            end = self.state()
            for _ in range(high - low):
                self.eps[cur].append(end)
                cur = self.build(seq, cur)
            self.eps[cur].append(end)
            return end
        raise ValueError(f"unexpected pattern element {op}")


def _intervals(op, av) -> tuple:
    if op is sre_c.LITERAL:
        return ((av, av),)
    out = []
    for kind, value in av:
        if kind is sre_c.LITERAL:
            out.append((value, value))
        elif kind is sre_c.RANGE:
            out.append(value)
        else:  # NEGATE / CATEGORY are refused before this is called
            raise ValueError(f"unexpected class element {kind}")
    return tuple(out)


def _closure(nfa: _Nfa, states) -> frozenset:
    seen, todo = set(states), list(states)
    while todo:
        for nxt in nfa.eps[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


class _Dfa:
    """The correct automaton, stepped lazily: sets of NFA states; ``cuts`` bound the character intervals
    inside which every class reads all characters or none."""

    def __init__(self, nfa: _Nfa, start: int, final: int):
        self.nfa, self.final = nfa, final
        cuts = {0, TOP}
        for edges in nfa.edges:
            for label, _ in edges:
                if label is not ANY:
                    for lo, hi in label:
                        cuts.update((lo, hi + 1))
        self.cuts = sorted(cuts)
        self.start = _closure(nfa, [start])

    def _reads(self, label, code: int) -> bool:
        if label is ANY:
            return True
        return any(lo <= code <= hi for lo, hi in label)

    def targets(self, states: frozenset, code: int) -> frozenset:
        return frozenset(t for s in states for label, t in self.nfa.edges[s] if self._reads(label, code))

    def accepts(self, states: frozenset) -> bool:
        return self.final in states


# ----------------------------------------------------------------------------------------- comparison
def _differs(pattern: str) -> str | None:
    """A shortest value (in the engine's alphabet) on which durable's automaton and the pattern's meaning
    disagree, or None. ``pattern`` is what durable receives (``compiler.engine_pattern``)."""
    durable = Packed(Durable(pattern).compile())
    nfa = _Nfa()
    start = nfa.state()
    with warnings.catch_warnings():  # "[[]" (an escaped "[") is a class holding "[": no nested set
        warnings.simplefilter("ignore", FutureWarning)
        parsed = sre_parse.parse(pattern.replace("%%", "%"))
    final = nfa.build(parsed, start)
    right = _Dfa(nfa, start, final)
    cuts = set(right.cuts) | {c for s in durable.symbols if s not in (EMPTY, DOT) for c in (s, s + 1)}
    bounds = sorted(c for c in cuts if c <= TOP)
    codes = []  # one code per elementary interval, never one a value cannot hold (JSON-escaped ones)
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        code = next((c for c in range(lo, min(hi, lo + 40)) if c >= 0x20 and chr(c) not in '"\\'), None)
        if code is not None:
            codes.append(code)
    first = (1, right.start)
    seen, queue = {first: ""}, [first]
    while queue:
        pair = queue.pop(0)
        d, r = pair
        if bool(d and durable.accept.get(d)) != right.accepts(r):
            return seen[pair]
        if not d and not r:
            continue
        for code in codes:
            nxt = (durable.step(d, code) if d else 0, _closure(nfa, right.targets(r, code)) if r else frozenset())
            if nxt not in seen:
                if len(seen) >= 50_000:
                    raise TooLarge
                seen[nxt] = seen[pair] + chr(code)
                queue.append(nxt)
    return None


def _shown(value: str) -> str:
    return repr("".join(chr(ord(c) - 0xF0000) if 0xF0000 <= ord(c) <= 0xF005F else c for c in value))


@lru_cache(maxsize=4096)
def engine_mismatch(engine_pattern: str) -> str | None:
    """Why durable_rules would match this pattern (as the compiler hands it over) differently from what
    it says, with a value that shows it; None when its automaton accepts exactly the pattern's values."""
    try:
        value = _differs(engine_pattern)
    except TooLarge:
        return "pattern too large to check against durable_rules' regex engine (simplify it)"
    except (ValueError, IndexError, RecursionError) as exc:  # a construct the port does not know: refused
        return f"pattern cannot be checked against durable_rules' regex engine ({exc or type(exc).__name__})"
    if value is None:
        return None
    machine = Durable(engine_pattern)
    durable = Packed(machine.compile())
    state = 1
    for ch in value:
        state = durable.step(state, ord(ch)) if state else 0
    verdict = "matches" if state and durable.accept.get(state) else "does not match"
    shown = f"it {verdict} {_shown(value)}"
    return f"durable_rules' regex engine cannot match this pattern as written: {shown}. {_cause(machine, durable)}"


def _cause(machine: Durable, durable: Packed) -> str:
    """What in durable's compiler goes wrong for this pattern, so that the refusal names the construct at
    fault (a '.' only when the pattern has one)."""
    if machine.collided:
        return (
            "Its compiler confuses two merged states whose 16-bit hashes collide (many alternatives or "
            "repetitions in one pattern): simplify the pattern or split it into several conditions"
        )
    if DOT in durable.symbols:
        return (
            "Its compiler drops transitions where a '.' competes with a specific character after a "
            "repetition or a choice (e.g. 'a+.?' fails on 'aaaa'): write the '.' as the characters you "
            "mean, or make the repetition unambiguous"
        )
    return (
        "Its compiler builds a different automaton for this pattern (a durable_rules defect): simplify the "
        "pattern or split it into several conditions"
    )
