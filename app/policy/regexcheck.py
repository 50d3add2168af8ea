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
statement for statement (``_Durable``: ``createGraph``, ``transformToDFA``, ``expandDot``, ``packGraph``,
``evaluateRegex``), and compares the automaton it builds with a correct one for the same pattern
(Thompson NFA and subsets, over character intervals) on every pair of states reachable together. A
pattern is refused when the two differ, naming the shortest value that shows it. The port is checked
against the real engine (tests/unit/test_rules_regex_engine.py).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

try:  # Python 3.11+: the parser moved
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_NFA_STATES = 20_000
TOP = 0x110000
ANY = "any"


class TooLarge(Exception):
    pass


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


# --------------------------------------------------------------------------------- durable's compiler
EMPTY, DOT = 0, 0xFFFE  # regex.c: EMPTY (an epsilon) and REGEX_DOT
D_MAX_STATES, D_MAX_HSET = 4096, 8192


class _State:
    __slots__ = ("id", "hash", "refs", "accept", "reject", "trans")

    def __init__(self, ident: int):
        self.id, self.hash, self.refs, self.accept, self.reject = ident, 0, 0, False, False
        self.trans: list[list] = []  # [deterministic, symbol, next], in durable's order


class _Durable:
    """regex.c's ``compileRegex`` and ``evaluateRegex``, statement for statement (quirks included: that
    is the point). Only the dialect ``regex_problem`` lets through is handled (no ``[^...]``)."""

    def __init__(self, pattern: str):
        self.p, self.i, self.next_id = pattern, 0, 0

    # -- states and transitions
    def new(self) -> _State:
        if self.next_id == D_MAX_STATES:
            raise TooLarge
        self.next_id += 1
        return _State(self.next_id - 1)

    @staticmethod
    def link(a: _State, b: _State, sym: int, det: int = 0) -> None:
        for t in a.trans:
            if t[1] == sym and t[2].id == b.id:
                return
        a.trans.append([det, sym, b])
        b.refs += 1

    @staticmethod
    def delete(a: _State, index: int) -> None:
        a.trans[index][2].refs -= 1
        del a.trans[index]

    def unlink(self, a: _State, b: _State, sym: int) -> None:
        i = 0
        while i < len(a.trans):  # as in C, the entry shifted into i is skipped
            if a.trans[i][1] == sym and a.trans[i][2].id == b.id:
                self.delete(a, i)
            i += 1

    # -- parsing (readNextToken and friends)
    def _escaped(self) -> list[int]:
        self.i += 1
        if self.i >= len(self.p):
            raise ValueError("lone %")
        c = self.p[self.i]
        self.i += 1
        if c in ".|?*+()[]{}%":
            return [ord(c)]
        classes = {"d": "0-9", "w": "A-Za-z0-9", "x": "0-9A-Fa-f", "g": "\x21-\x7e", "s": "\x09-\x0d\x20"}
        if c in classes:
            return _range_codes(classes[c])
        raise TooLarge  # \a \c \l \p \u: never produced by engine_pattern

    def _range(self) -> list[int]:
        self.i += 1
        out: list[int] = []
        if self.p[self.i] == "]":
            out.append(ord("]"))
            self.i += 1
        begin, last = True, 0
        while self.p[self.i] != "]":
            c = self.p[self.i]
            if not begin:
                if not last:
                    raise ValueError("range after an escape")
                cur = ord(c)
                self.i += 1
                while cur != last:
                    out.append(cur)
                    cur = cur - 1 if cur > last else cur + 1
                begin = True
            elif c == "-":
                begin = False
                self.i += 1
            elif c != "%":
                out.append(ord(c))
                last = ord(c)
                self.i += 1
            else:
                out += self._escaped()
                last = 0
        if not begin:
            out.append(ord("-"))
        self.i += 1
        return out

    def _interval(self) -> tuple[int, int]:
        end = self.p.index("}", self.i)
        body = self.p[self.i + 1 : end]
        self.i = end + 1
        comma = body.find(",")
        if comma > 0:  # "{m,n}" / "{m,}" (n = 0: unbounded)
            return _atoi(body[:comma]), _atoi(body[comma + 1 :])
        return _atoi(body), _atoi(body)  # "{m}", and "{,n}" read as atoi(",n") = 0, as durable does

    def token(self):
        """(kind, payload) or None at the end of the pattern / a group."""
        if self.i >= len(self.p):
            return None
        c = self.p[self.i]
        if c == "[":
            return "sym", self._range()
        if c == "{":
            return "interval", self._interval()
        if c == "%":
            return "sym", self._escaped()
        self.i += 1
        if c == ")":
            return None
        kinds = {"|": "union", "?": "question", "*": "star", "+": "plus", "(": "group"}
        if c in kinds:
            return kinds[c], None
        return "sym", [DOT if c == "." else ord(c)]

    # -- createGraph / cloneGraph
    def clone(self, start: _State, end: _State) -> tuple[_State, _State]:
        visited: dict[int, _State] = {start.id: self.new()}
        queue, cur = [], start
        while cur is not None:
            if cur.accept:
                visited[cur.id].accept = True
            if cur.reject:
                visited[cur.id].reject = True
            for t in list(cur.trans):
                if t[2].id not in visited:
                    visited[t[2].id] = self.new()
                    queue.append(t[2])
                self.link(visited[cur.id], visited[t[2].id], t[1])
            cur = queue.pop(0) if queue else None
        return visited[start.id], visited[end.id]

    def graph(self) -> tuple[_State, _State]:
        start, end = self.new(), self.new()
        prev = cur = start
        tok = self.token()
        while tok is not None:
            kind, value = tok
            if kind == "sym":
                prev = cur
                if value:
                    cur = self.new()
                    for sym in value:
                        self.link(prev, cur, sym)
            elif kind == "union":
                self.link(cur, end, EMPTY)
                cur = self.new()
                prev = start
                self.link(prev, cur, EMPTY)
            elif kind in ("star", "plus", "question"):
                anchor = self.new()
                if kind != "question":
                    self.link(cur, prev, EMPTY)
                if kind == "question":
                    self.link(cur, anchor, EMPTY)
                    self.link(prev, anchor, EMPTY)
                else:
                    self.link(cur, anchor, EMPTY)
                    if kind == "star":
                        self.link(prev, anchor, EMPTY)
                prev, cur = cur, anchor
            elif kind == "group":
                sub_start, sub_end = self.graph()
                self.link(cur, sub_start, EMPTY)
                prev, cur = cur, sub_end
            else:
                prev, cur = self._interval_graph(prev, cur, *value)
            tok = self.token()
        self.link(cur, end, EMPTY)
        return start, end

    def _interval_graph(self, prev: _State, cur: _State, low: int, high: int) -> tuple[_State, _State]:
        new_cur = new_prev = None
        sub_start, sub_end = prev, cur
        anchor = self.new()
        for i in range(1, high if high else low):
            sub_start, sub_end = self.clone(prev, cur)
            if new_cur is not None:
                self.link(new_cur, sub_start, EMPTY)
            else:
                new_prev = sub_start
            if i >= low:
                self.link(sub_start, anchor, EMPTY)
            new_cur = sub_end
        if not high:
            self.link(sub_end, sub_start, EMPTY)
        if not low:
            self.link(prev, anchor, EMPTY)
        if new_prev is None:
            self.link(cur, anchor, EMPTY)
            prev = cur
        else:
            self.link(cur, new_prev, EMPTY)
            self.link(new_cur, anchor, EMPTY)
            prev = new_cur
        return prev, anchor

    # -- the DFA passes
    @staticmethod
    def hash_of(states: list[_State]) -> int:
        h = 5381
        for st in states:
            h = ((h << 5) + h + st.id) & 0xFFFFFFFF
        return h & 0xFFFF  # calculateHash returns an unsigned short

    @staticmethod
    def sorted_list(states) -> list[_State]:
        out: list[_State] = []
        for st in states:  # ADD: insertion by id, duplicates kept
            out.append(st)
            i = len(out) - 1
            while i > 0 and out[i].id < out[i - 1].id:
                out[i], out[i - 1] = out[i - 1], out[i]
                i -= 1
        return out

    def ensure(self, states: list[_State]) -> _State:
        new = self.new()
        cancel = False
        for target in states:
            for t in list(target.trans):
                self.link(new, t[2], t[1], t[0])
                if t[1] == DOT and target.accept:
                    cancel = True
            new.accept |= target.accept
            new.reject |= target.reject
        if cancel:
            i = 0
            while i < len(new.trans):
                t = new.trans[i]
                if t[1] != DOT:
                    self.unlink(new, t[2], t[1])
                i += 1
        return new

    def _lookup(self, hset: dict, states: list[_State]) -> _State:
        h = self.hash_of(states)
        if h not in hset:  # HGET compares hashes only
            if len(hset) >= D_MAX_HSET:
                raise TooLarge
            hset[h] = self.ensure(states)
            hset[h].hash = h
        return hset[h]

    def consolidate_states(self, cur: _State) -> None:
        i = 0
        while i < len(cur.trans):
            t = cur.trans[i]
            if t[1] == EMPTY:
                nxt = t[2]
                if nxt is not cur:
                    ii = 0
                    while ii < len(nxt.trans):
                        nt = nxt.trans[ii]
                        self.link(cur, nt[2], nt[1], nt[0])
                        if nxt.refs == 1:
                            nt[2].refs -= 1
                        ii += 1
                cur.accept |= nxt.accept
                cur.reject |= nxt.reject
                self.delete(cur, i)
                i -= 1
            i += 1

    def consolidate_transitions(self, cur: _State, hset: dict) -> None:
        old, new, seen = [], [], set()
        for i, t in enumerate(cur.trans):
            if t[1] in seen and t[1] != EMPTY:
                continue
            seen.add(t[1])
            group: list[_State] = []
            for tt in cur.trans[i + 1 :]:
                if tt[1] == t[1]:
                    if not group:
                        group.append(t[2])
                        old.append((t[1], t[2]))
                    group.append(tt[2])
                    old.append((tt[1], tt[2]))
            if group:
                new.append((t[1], self._lookup(hset, self.sorted_list(group))))
        for sym, nxt in old:
            self.unlink(cur, nxt, sym)
        for sym, nxt in new:
            self.link(cur, nxt, sym)

    def consolidate_dot(self, cur: _State, hset: dict) -> None:
        old, new = [], []
        for i, a in enumerate(cur.trans):
            for b in cur.trans[i + 1 :]:
                if (a[1] == DOT and b[1] != DOT and not b[0]) or (a[1] != DOT and not a[0] and b[1] == DOT):
                    merged = self._lookup(hset, self.sorted_list([a[2], b[2]]))
                    sym, nxt = (b[1], b[2]) if a[1] == DOT else (a[1], a[2])
                    old.append((sym, nxt))
                    new.append((sym, merged))
        for sym, nxt in old:
            self.unlink(cur, nxt, sym)
        for sym, nxt in new:
            self.link(cur, nxt, sym, 1)

    def walk(self, start: _State, step) -> None:
        hset: dict = {}
        visited, queue, cur = {start.id}, [], start
        while cur is not None:
            step(cur, hset)
            for t in cur.trans:
                if t[2].id not in visited:
                    visited.add(t[2].id)
                    queue.append(t[2])
            cur = queue.pop(0) if queue else None

    def compile(self) -> _State:
        start, end = self.graph()
        end.accept = True
        start.refs += 1

        def dfa(cur, hset):
            self.consolidate_states(cur)
            self.consolidate_transitions(cur, hset)

        self.walk(start, dfa)
        self.walk(start, self.consolidate_dot)
        self.walk(start, dfa)
        return start


def _atoi(text: str) -> int:
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def _range_codes(body: str) -> list[int]:
    out, i = [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out += range(ord(body[i]), ord(body[i + 2]) + 1)
            i += 3
        else:
            out.append(ord(body[i]))
            i += 1
    return out


class _Packed:
    """packGraph + evaluateRegex: one table per symbol (the last transition on a symbol wins)."""

    def __init__(self, start: _State):
        self.table: dict[tuple[int, int], int] = {}
        self.accept: dict[int, bool] = {}
        self.symbols: set[int] = set()
        numbers = {start.id: 1}
        queue, cur = [], start
        while cur is not None:
            number = numbers[cur.id]
            self.accept[number] = cur.accept
            for t in cur.trans:
                self.symbols.add(t[1])
                if t[2].id not in numbers:
                    numbers[t[2].id] = len(numbers) + 1
                    queue.append(t[2])
                self.table[(t[1], number)] = numbers[t[2].id]
            cur = queue.pop(0) if queue else None

    def step(self, state: int, code: int) -> int:
        """The next state (0: no match)."""
        if code in self.symbols:
            nxt = self.table.get((code, state), 0)
            if nxt:
                return nxt
        return self.table.get((DOT, state), 0) if DOT in self.symbols else 0


# ----------------------------------------------------------------------------------------- comparison
def _differs(pattern: str) -> str | None:
    """A shortest value (in the engine's alphabet) on which durable's automaton and the pattern's meaning
    disagree, or None. ``pattern`` is what durable receives (``compiler.engine_pattern``)."""
    durable = _Packed(_Durable(pattern).compile())
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
    if value is None:
        return None
    durable = _Packed(_Durable(engine_pattern).compile())
    state = 1
    for ch in value:
        state = durable.step(state, ord(ch)) if state else 0
    verdict = "matches" if state and durable.accept.get(state) else "does not match"
    return (
        f"durable_rules' regex engine cannot match this pattern as written: it {verdict} {_shown(value)}. "
        "Its compiler drops transitions where a '.' competes with a specific character after a repetition "
        "or a choice (e.g. 'a+.?' fails on 'aaaa'): write the '.' as the characters you mean, or make "
        "the repetition unambiguous"
    )
