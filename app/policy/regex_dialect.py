"""The regex dialect durable_rules reads, and the patterns it would read otherwise than Python does.

A ``matches:`` pattern is evaluated by durable_rules' own small regex engine, not Python's ``re``: it
always matches the whole value and knows only a subset of the syntax, reading some of the rest as
something else (every ``{`` starts a repetition, an upper bound of 0 is unbounded). `regex_problem`
refuses such a pattern at load time, with what to write instead. Whether the engine's compiler then
builds the automaton the pattern says is another question, answered by app.policy.regexcheck.
"""

from __future__ import annotations

import re

_REGEX_ESCAPABLE = set(".|?*+()[]{}\\")


def regex_problem(pattern: str) -> str | None:
    """Why durable_rules' own regex engine would not match ``pattern`` the way an operator expects.

    durable_rules implements a small regex dialect: it always matches the WHOLE value, and knows only
    literals, ``.``, ``[a-z]`` classes, ``( )``, ``|``, ``? * +``, ``{m,n}`` and backslash-escapes of
    those metacharacters. Anything else is rejected here instead of silently meaning something else.
    """
    if pattern == "":
        return "empty pattern (use empty: true to test for an empty value)"
    if any(0xF0000 <= ord(ch) <= 0xF005F for ch in pattern):
        return "characters U+F0000-U+F005F are reserved (the engine's stand-ins for escaped characters)"
    i, n = 0, len(pattern)
    previous = ""  # the previous token when it was a quantifier
    while i < n:
        c = pattern[i]
        if c in "*+?{":
            problem, end = _quantifier_problem(pattern, i, previous)
            if problem:
                return problem
            previous, i = pattern[i:end], end
            continue
        previous = ""
        if c == "\\":
            if i + 1 >= n:
                return "pattern ends with a lone backslash"
            nxt = pattern[i + 1]
            if nxt not in _REGEX_ESCAPABLE:
                return (
                    f"unsupported escape \\{nxt} (durable_rules patterns only escape . | ? * + ( ) [ ] "
                    "{ } \\; write character classes such as [0-9] instead)"
                )
            i += 2
            continue
        if c == "(" and pattern[i + 1 : i + 2] == ")":
            return "an empty group '()' is not supported (durable_rules refuses or misreads it): drop it"
        if c in "^$":
            return (
                f"{c!r} is not supported: a pattern always matches the whole value "
                "(drop the anchor; use .* to match part of a value)"
            )
        if c == "(" and pattern[i + 1 : i + 2] == "?":
            return "(?...) groups are not supported"
        if c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                return "unterminated [ character class"
            body = pattern[i + 1 : end]
            if body == "":
                return "empty [] character class"
            if body.startswith("^"):
                return "negated character classes [^...] are not supported"
            if "\\" in body or "[" in body:
                return "escapes and '[' are not supported inside [...]"
            if body.startswith("-"):
                return "'-' is only allowed as the last character of a [...] class"
            problem = _class_range_problem(body)
            if problem:
                return problem
            i = end + 1
            continue
        i += 1
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid pattern: {exc}"
    return None


# A repetition as durable_rules reads one: it takes every "{" for the start of one (C's atoi on what is
# between the braces), where Python's re reads "{x}" or "a{ 2}" as literal text.
_INTERVAL = re.compile(r"\{(?:(\d+)|(\d*),(\d*))\}")
MAX_REPEAT_BOUND = 100  # durable_rules refuses (error 501) an upper bound above it


def _quantifier_problem(pattern: str, i: int, previous: str) -> tuple[str | None, int]:
    """Why the quantifier at ``pattern[i]`` (``*``, ``+``, ``?`` or ``{...}``) would not mean in durable_rules
    what it means in Python's re (None when it does), and where the next token starts. ``previous``: the
    quantifier right before it, if any."""
    c = pattern[i]
    if previous and c in "?+":
        return (
            f"{previous + c!r}: a quantifier right after another (Python's lazy '?' or possessive '+') is not "
            "supported; durable_rules reads it as a second repetition, and its compiler hangs on some (such "
            "as 'a*+'): write one quantifier",
            i + 1,
        )
    if c != "{":
        return None, i + 1
    m = _INTERVAL.match(pattern, i)
    if m is None:
        return (
            f"'{{' at offset {i} does not start a repetition {{m}}, {{m,}}, {{,n}} or {{m,n}} (digits only): "
            "durable_rules reads every '{' as one; write a literal brace as \\{",
            i + 1,
        )
    exact, low, high = m.groups()
    top = int(exact) if exact is not None else (int(high) if high else None)
    if top == 0:
        return (
            f"{m.group(0)!r} repeats nothing (durable_rules reads an upper bound of 0 as unbounded, like '*'): "
            "drop the repeated item instead",
            m.end(),
        )
    if top is not None and top > MAX_REPEAT_BOUND:
        return (
            f"{m.group(0)!r}: durable_rules allows at most {MAX_REPEAT_BOUND} as a repetition's upper bound "
            "(write {m,} for no upper bound)",
            m.end(),
        )
    return None, m.end()


_JSON_ESCAPED = {'"', "\\"} | {chr(c) for c in range(0x20)}


def _class_range_problem(body: str) -> str | None:
    """A range mixing characters JSON escapes (controls, '"', '\\') with others, e.g. [ -~]: the engine
    sees those characters as stand-ins outside the range (app.policy.compiler.engine_text)."""
    for m in re.finditer(r"(.)-(.)", body, re.DOTALL):
        lo, hi = ord(m.group(1)), ord(m.group(2))
        if lo > hi:
            return f"range {m.group(0)!r} in [...] is backwards"
        spanned = {chr(c) for c in (*range(lo, min(hi, 0x5C) + 1),)} & _JSON_ESCAPED
        if spanned and not (hi < 0x20):
            return (
                f"range {m.group(0)!r} in [...] includes {', '.join(repr(c) for c in sorted(spanned))} "
                "together with other characters; durable_rules cannot match that range: split it around "
                "them (e.g. [ !#-Z] for printable ASCII up to Z, and the others you need beside it)"
            )
    return None
