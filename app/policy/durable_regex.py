"""durable_rules 2.0.28's regex compiler and matcher (``src/rules/regex.c``), ported statement for
statement, quirks included: app.policy.regexcheck compares what it builds with what a pattern means.
Checked against the real engine by tests/unit/test_rules_regex_engine.py. durable_rules is Jesus Ruiz's,
under the MIT licence; this port keeps its algorithm so that its behaviour can be predicted exactly."""

from __future__ import annotations

import re


class TooLarge(Exception):
    """Past durable's own limits (states, hash set) or the checker's: the pattern is refused."""


EMPTY, DOT = 0, 0xFFFE  # regex.c: EMPTY (an epsilon) and REGEX_DOT
D_MAX_STATES, D_MAX_HSET = 4096, 8192


class _State:
    __slots__ = ("id", "hash", "refs", "accept", "reject", "trans")

    def __init__(self, ident: int):
        self.id, self.hash, self.refs, self.accept, self.reject = ident, 0, 0, False, False
        self.trans: list[list] = []  # [deterministic, symbol, next], in durable's order


class Durable:
    """regex.c's ``compileRegex`` and ``evaluateRegex``, statement for statement (quirks included: that
    is the point). Only the dialect ``regex_problem`` lets through is handled (no ``[^...]``)."""

    def __init__(self, pattern: str):
        self.p, self.i, self.next_id = pattern, 0, 0
        self.parts: dict[int, tuple] = {}  # merged state hash -> the ids of the states it merged
        self.collided = False  # two different sets of states were merged under one 16-bit hash

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
        ids = tuple(st.id for st in states)
        if h not in hset:  # HGET compares hashes only
            if len(hset) >= D_MAX_HSET:
                raise TooLarge
            hset[h] = self.ensure(states)
            hset[h].hash = h
            self.parts[h] = ids
        elif self.parts.get(h) != ids:
            self.collided = True  # noted so that a refusal can name this cause (regexcheck)
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
    """C's atoi: leading white space, an optional sign, then digits ("{ 2}" and "{+2}" are "{2}")."""
    m = re.match(r"[ \t\n\v\f\r]*([-+]?[0-9]+)", text)
    return int(m.group(1)) if m else 0


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


class Packed:
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
