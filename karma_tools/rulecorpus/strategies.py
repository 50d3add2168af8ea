"""Hypothesis strategies: rule files and pipeline facts drawn from ONE vocabulary, so that rules fire.

Every operator of the language, negated and not (``not:``, ``ne``/``not_in``, ``exists: false``…), over
fixed and open fields (nested paths, lists), field-against-field, counts and time windows; values at the
edges: whitespace and JSON escapes (tab, newline, quote, backslash, NUL), regex metacharacters, unicode,
empty strings, int64 and float limits, NaN, nulls and missing keys, lists and objects.
"""

from __future__ import annotations

from hypothesis import strategies as st

STRINGS = [
    "",
    " ",
    "\t",
    "\n",
    "\r",
    " \t\r\n",
    "t",
    "n",
    "r",
    "tnr",
    "x",
    "fix",
    'a"b',
    "a\\b",
    "\\",
    "\\t",
    "\\n",
    "é",
    "日本",
    "😀",
    ".",
    "*",
    "a.b",
    "[x]",
    "(a|b)",
    "a+",
    "{1}",
    "\x00",
    "\x1f",
    "\x7f",
    "\u2028",
    "a b",
    "prod",
    "dev",
    "lambda",
    "ec2-instance",
    "running",
    "stopped",
    "10.0.0.0/16",
    "10.0.1.0/24",
    "192.168.0.0/16",
    "fd00::/8",
    "abc",
    "ab",
    "aab",
    "/",
    "s:x",
    "\U000f0041",  # one of the engine's stand-in characters: matches no pattern (docs/rules.md)
    "-",
    "n:1",
]
INTS = [0, 1, -1, 3, 10, 2**31, 2**53, 2**53 + 1, 2**63 - 1, -(2**63) + 1, 2**63, -(2**63), 2**64]
FLOATS = [0.5, -0.0, 1.0, 3.0, 2.5, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 9007199254740993.0, 0.1]
SCALARS = STRINGS + INTS + FLOATS + [True, False]
LISTS = [[], ["a"], ["a", "b"], [1, "1"], [True], [None], ["\t"], [[1]], [{"a": 1}], ["x", "prod", 3], ["é"]]
OBJECTS = [{}, {"a": 1}, {"c": "x"}]

# (section, key, field type) the rules name; ANY below an open field
FIELDS = [
    ("change", "type", "string"),
    ("change", "environment", "string"),
    ("change", "reason", "string"),
    ("change", "changed_keys", "list"),
    ("change", "affected_count", "integer"),
    ("change", "new.a", "any"),
    ("change", "new.b.c", "any"),
    ("change", "old.a", "any"),
    ("component", "config.a", "any"),
    ("component", "version", "integer"),
    ("impacted", "type", "string"),
    ("impacted", "depth", "integer"),
    ("impacted", "runtime.state", "any"),
    ("impacted", "runtime.n", "any"),
    ("impacted", "path", "list"),
    ("impacted", "runtime_published", "boolean"),
]
OPS = {
    "string": ["eq", "ne", "in", "not_in", "matches", "exists", "empty", "overlaps"],
    "integer": ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "exists"],
    "boolean": ["eq", "ne", "exists"],
    "list": ["contains", "contains_any", "contains_all", "exists", "empty", "overlaps"],
    "any": [
        "eq",
        "ne",
        "in",
        "not_in",
        "lt",
        "lte",
        "gt",
        "gte",
        "matches",
        "contains",
        "contains_any",
        "contains_all",
        "exists",
        "empty",
        "overlaps",
    ],
}
REF_OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "overlaps"]

# patterns: durable_rules' dialect (docs/rules.md), with the characters JSON escapes in literals and classes
_ATOMS = [
    "a",
    "b",
    "t",
    "n",
    " ",
    "\t",
    "\n",
    "\r",
    '"',
    "é",
    "日",
    "-",
    "/",
    "0",
    ".",
    "\\.",
    "\\*",
    "\\\\",
    "\\(",
    "\\[",
    "\\{",
    "\\|",
    "\\+",
    "\\?",
    "[a-z]",
    "[ \t\r\n]",
    "[0-9]",
    '[ab"]',
    "[tn]",
    "[é日]",
]
_QUANT = ["", "", "", "?", "*", "+", "{1,3}", "{2}"]


@st.composite
def patterns(draw) -> str:
    def piece():
        atom = draw(st.sampled_from(_ATOMS))
        if draw(st.integers(0, 5)) == 0:
            atom = f"({atom}|{draw(st.sampled_from(_ATOMS))})"
        return atom + draw(st.sampled_from(_QUANT))

    return "".join(piece() for _ in range(draw(st.integers(1, 4))))


def _scalar_for(ftype: str):
    pool = {"string": STRINGS, "integer": INTS + FLOATS, "boolean": [True, False]}.get(ftype, SCALARS)
    return st.sampled_from(pool)


@st.composite
def _leaf(draw, sections=("change", "component", "impacted")) -> dict:
    section, key, ftype = draw(st.sampled_from([f for f in FIELDS if f[0] in sections]))
    op = draw(st.sampled_from(OPS[ftype]))
    if op in REF_OPS and draw(st.integers(0, 4)) == 0:
        other = draw(st.sampled_from([f for f in FIELDS if f[0] in sections]))
        operand = {"field": f"{other[0]}.{other[1]}"}
    elif op in ("eq", "ne", "contains"):
        operand = draw(_scalar_for("any" if ftype == "list" else ftype))
    elif op in ("in", "not_in", "contains_any", "contains_all"):
        operand = draw(st.lists(_scalar_for("any" if ftype == "list" else ftype), min_size=1, max_size=3))
    elif op in ("lt", "lte", "gt", "gte"):
        operand = draw(st.sampled_from(INTS + FLOATS))
    elif op == "matches":
        operand = draw(patterns())
    elif op == "overlaps":
        operand = draw(st.sampled_from(["10.0.0.0/8", "10.0.1.0/24", ["192.168.0.0/16", "fd00::/8"]]))
    else:
        operand = draw(st.booleans())
    if op == "eq" and not isinstance(operand, dict) and draw(st.booleans()):
        return {section: {key: operand}}  # the implicit forms: a scalar is eq, a list is in
    return {section: {key: {op: operand}}}


@st.composite
def _count(draw) -> dict:
    """A count over the impact: by type, or by any condition on the row (count filters are evaluated
    before durable_rules, by app.policy.derive, so they need the same values as conditions do)."""
    if draw(st.booleans()):
        where = {"type": draw(st.sampled_from(["lambda", "ec2-instance", "x"]))}
    else:
        where = draw(_leaf(sections=("impacted",)))["impacted"]
    op = draw(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]))
    return {"count": {"impacted": where, op: draw(st.integers(0, 3))}}


def _time() -> st.SearchStrategy:
    return st.builds(
        lambda zone, lo, hi: {"time": {"zone": zone, "hour": {"between": [lo, hi]}}},
        st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati"]),
        st.integers(0, 23),
        st.integers(0, 23),
    )


def conditions() -> st.SearchStrategy:
    leaves = st.one_of(_leaf(), _leaf(), _leaf(), _count(), _time())
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=5,
    )


@st.composite
def rule_files(draw, max_rules: int = 12) -> list[dict]:
    whens = draw(st.lists(conditions(), min_size=1, max_size=max_rules))
    return [
        {"id": f"g{i}", "description": "generated", "effect": "warn", "when": when, "message": "m"}
        for i, when in enumerate(whens)
    ]


_VALUES = st.one_of(
    st.sampled_from(SCALARS),
    st.sampled_from(LISTS),
    st.sampled_from(OBJECTS),
    st.just(None),
    st.just(float("nan")),
    st.text(st.sampled_from(list('abtn \t\r\n"\\é日-/0.')), max_size=5),
)


def _open() -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional={"a": _VALUES, "b": st.fixed_dictionaries({}, optional={"c": _VALUES})})


@st.composite
def facts(draw) -> list[dict]:
    """One evaluation's pipeline facts: the change fact and 0-3 impacted rows sharing change/component."""
    comp_id = "subnet/karma-dev-a"
    change = {
        "component": comp_id,
        "type": draw(st.sampled_from(STRINGS)),
        "environment": draw(st.sampled_from(["prod", "dev", ""])),
        "reason": draw(st.one_of(st.none(), st.sampled_from(STRINGS), st.text(max_size=4))),
        "changed_keys": draw(st.sampled_from(LISTS)),
        "affected_count": draw(st.sampled_from(INTS + [None])),
        "new": draw(_open()),
        "old": draw(_open()),
    }
    component = {"id": comp_id, "config": draw(_open()), "version": draw(st.sampled_from(INTS))}
    rows = []
    for i in range(draw(st.integers(0, 3))):
        rows.append(
            {
                "id": f"lambda/f{i}",
                "type": draw(st.sampled_from(["lambda", "ec2-instance", "x", ""])),
                "depth": draw(st.sampled_from(INTS + [None])),
                "runtime": {k: v for k, v in (("state", draw(_VALUES)), ("n", draw(_VALUES))) if draw(st.booleans())},
                "path": draw(st.sampled_from(LISTS)),
                "runtime_published": draw(st.sampled_from([True, False, None])),
            }
        )
    base = {"change": change, "component": component, "siblings": []}
    return [{**base, "impacted": None}] + [{**base, "impacted": row} for row in rows]


_TEXT = st.text(st.sampled_from(list('abtnr \t\r\n"\\é日-/0.*[]x') + ["\x00", "😀"]), max_size=6)


@st.composite
def pattern_files(draw) -> tuple[list[dict], list[list[dict]]]:
    """Rules that are patterns on one field, and changes whose value each pattern may or may not match
    (drawn from the patterns themselves, so matches are common)."""
    pats = draw(st.lists(patterns(), min_size=1, max_size=8))
    rules = [
        {
            "id": f"p{i}",
            "description": "generated",
            "effect": "warn",
            "when": {"change": {"reason": {"matches": p}}},
            "message": "m",
        }
        for i, p in enumerate(pats)
    ]
    values = []
    for _ in range(draw(st.integers(1, 8))):
        pattern = draw(st.sampled_from(pats))
        values.append(draw(st.one_of(st.from_regex(f"(?s:{pattern})", fullmatch=True), _TEXT)))
    fact_sets = [
        [{"change": {"component": "c/x", "reason": v}, "component": {"id": "c/x"}, "siblings": [], "impacted": None}]
        for v in values
    ]
    return rules, fact_sets
