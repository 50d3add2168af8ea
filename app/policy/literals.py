"""A rule's literal values: which ones the engine holds exactly, and how YAML may have misread them.

A condition compares a fact field with a literal the author wrote (``eq: 3``, ``in: [a, b]``, a CIDR
block). durable_rules holds numbers in (-2^63, 2^63) and no subnormals; YAML 1.1 reads ``1e5`` and ``019``
as text and ``on`` as a boolean. Each literal is judged here — against the field it is compared with —
so that a rule whose literal would not mean what it says is refused at load time, naming the value and
how to write it. The condition parser (app.policy.conditions) and the loader (app.policy.loader) use
it; nothing here knows the condition tree.
"""

from __future__ import annotations

import ipaddress
import math
import re
import sys

from app.policy.fields import BOOL, INT, STR, Field
from app.yaml_misreads import BooleanWord

# a rule id, and a count's name (without '-'): lowercase letters and digits separated by '-' or '_'
ID_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else f"{value} (not a finite number)"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


class UnquotedText(str):
    """A plain (unquoted) YAML scalar that looks like a number but that YAML 1.1 (PyYAML) reads as text:
    ``1e5``, ``1.0e19``, ``-1e-5``, ``.5e3``, ``0o17``, ``019``. The rule loader marks them
    (app.policy.loader) so that a comparison with a field that may hold numbers is refused instead of
    silently comparing text. (The forms YAML 1.1 does read as numbers, but not as written — ``017``,
    ``1:30`` — are refused wherever they stand: app.yaml_misreads.)"""


# YAML 1.1 reads a float only with a '.' and a signed exponent (1.0e+5), octal as 017 (so a leading zero
# before an 8 or 9 is no number at all), and no 0o: these read as text, though JSON, YAML 1.2 or Python
# read them as numbers.
_LEADING_ZERO_DECIMAL = re.compile(r"^[-+]?0[0-9_]*[89][0-9_]*$")
_NUMBER_LIKE_TEXT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$|^0o[0-7]+$|" + _LEADING_ZERO_DECIMAL.pattern
)


def number_like_text(text: str) -> bool:
    return bool(_NUMBER_LIKE_TEXT.match(text))


def _text_number(text: str) -> int | float:
    """The number a number-looking text (number_like_text) means."""
    if text.startswith("0o"):
        return int(text, 8)
    if _LEADING_ZERO_DECIMAL.match(text):
        return int(text.replace("_", ""))
    return float(text.replace("_", ""))


def yaml_number(text: str) -> str:
    """How to write the number ``text`` looks like so that YAML reads a number: ``1e5`` -> ``1.0e+5``
    (or ``100000``), ``0o17`` -> ``15``, ``019`` -> ``19``."""
    if text.startswith("0o") or _LEADING_ZERO_DECIMAL.match(text):
        return str(_text_number(text))
    mantissa, exponent = re.split("[eE]", text.replace("_", ""))
    sign = mantissa[0] if mantissa[0] in "+-" else ""
    digits = mantissa.lstrip("+-")
    digits = "0" + digits if digits.startswith(".") else digits
    digits = digits if "." in digits else digits + ".0"
    exponent = exponent if exponent[0] in "+-" else "+" + exponent
    written = f"{sign}{digits}e{exponent}"
    number = _text_number(text)
    if number.is_integer() and abs(number) < 2**63:
        written += f" or {int(number)}"
    return written


def text_number_hint(value) -> str:
    """For a number operator given text: the text, and how to write it as a number when YAML read it so."""
    if isinstance(value, str) and number_like_text(value):
        return f" {value!r} (YAML reads it as text: write {yaml_number(value)} to mean a number)"
    return ""


def unquoted_number_problem(fld: Field, value) -> str | None:
    """Why an unquoted number-looking text cannot be compared with this field: YAML read it as text, so
    the rule would compare strings and a number never equals it. Only a field known to hold strings may
    take it (its text is then what the author meant)."""
    if not isinstance(value, UnquotedText) or fld.ftype == STR:
        return None
    read = f"YAML reads {value} (unquoted) as the text {str(value)!r}, not a number"
    write = f"write {yaml_number(value)} to mean the number"
    if not -(2**63) < _text_number(value) < 2**63:
        write += " (though that is beyond the engine's number range, (-2^63, 2^63))"
    if fld.ftype == INT:
        return f"{read} ({fld.name} holds numbers): {write}"
    return (
        f"{read}, so {fld.name} would be compared with a string and a number never equals it: {write}, "
        f"or quote it ('{value}') to mean the text"
    )


def boolean_word_problem(fld: Field, value, word: BooleanWord | None) -> str | None:
    """Why an unquoted yes/no/on/off cannot be compared with this field: YAML 1.1 read it as a boolean,
    but a config or runtime value may as well be the word (`mode: on`), which would then never equal it —
    as ambiguous as an unquoted 017. A boolean field takes it (a boolean is its only meaning); a string
    field refuses a boolean anyway (with the same advice)."""
    if word is None or not isinstance(value, bool) or fld.ftype in (BOOL, STR):
        return None
    return word.problem(f"so {fld.name} would be compared with a boolean and the text {word.text!r} never equals it")


def shown(value) -> str:
    """What a value is, for a message saying a list was expected (an empty one is named as such)."""
    return "an empty list" if value == [] else type_name(value)


def is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def number_problem(value) -> str | None:
    """Why the engine cannot hold this number literal exactly (None when it can)."""
    if not is_number(value):
        return None
    if not -(2**63) < value < 2**63:
        return f"{value!r} is outside the engine's number range (-2^63, 2^63); values beyond it count as unset"
    if isinstance(value, float) and value != 0 and abs(value) < sys.float_info.min:
        return f"{value!r} is a subnormal number, which durable_rules cannot read"
    return None


def is_scalar(value) -> bool:
    return isinstance(value, (str, bool)) or is_number(value)


def cidr_block(item) -> tuple[str | None, str | None]:
    """A rule's CIDR literal as its block's text, or why it is refused. A bare address is its own /32
    (/128) block; a block with host bits set (10.1.2.3/24) is almost certainly a typo, so it is refused
    with the network it would stand for rather than silently widened to it. (A fact's value is read
    leniently, as its network: app.policy.derive._block.)"""
    if isinstance(item, str):
        try:
            return str(ipaddress.ip_network(item)), None
        except ValueError as exc:
            if "has host bits set" in str(exc):
                network = ipaddress.ip_network(item, strict=False)
                return None, f"{item} has host bits set: did you mean {network}? (or {item.split('/')[0]} alone)"
    return None, f"expected a CIDR block such as 10.0.0.0/16 (or an address), got {item!r}"


def distinct(values) -> tuple:
    """Each value of a rule's list once, in its order. `true` and `1` are two values (rules never mix
    types; Python's `True == 1` merged them, and `in: [1, true]` silently lost one); `3` and `3.0` are
    one number, as rules compare them."""
    seen: set = set()
    out = []
    for value in values:
        key = (type(value) is bool, value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return tuple(out)


def canonical(value):
    """A literal as the compiled rule set holds it: 1.0 and 1 are the same number, kept as an int so the
    compiled JSON is stable."""
    if isinstance(value, str):
        return str(value)  # an UnquotedText a string field accepted is plain text from here on
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
