"""Every reader of JSON an operator writes reads it the one strict way (app.json_strict): a duplicated key
(Python's json kept the last value without a word), NaN / Infinity (floats no JSON reader takes back) and a
number beyond a float's range (1e400 was infinity) are refused, naming the file, the key path and the line,
and nothing is read: a JSON seed, a change file (`-f change.json`, `--set k=V`), a config tree's
config.json (`karma import`), a rule-test fixture's seed, a change typed in the console, a console query's
parameters. Each reader read all three silently before."""

from __future__ import annotations

import io
import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import importing, json_strict, seeding
from app.audit.operator_queries import parse_params
from app.cli.rules import rules_cli
from app.client import body
from app.console.work import parse_body
from app.errors import Unprocessable
from app.json_strict import NotStrictJSON
from app.ruletools.cases import CaseFileError, read_cases

# each text's refusal: its key path, line and what is wrong, as every reader names it
MISREADS = {
    "duplicate": (
        '{\n  "cidr": "10.0.0.0/16",\n  "cidr": "10.1.0.0/16"\n}',
        "cidr: duplicated key (first at line 2), at line 3",
    ),
    "nan": (
        '{\n  "az_count": NaN\n}',
        "az_count: NaN is not JSON (no number: write null, or quote it as text), at line 2",
    ),
    "huge": (
        '{\n  "az_count": 1e400\n}',
        "az_count: the number 1e400 is beyond a float's range (it would be read as infinity), at line 2",
    ),
}
CASES = list(MISREADS.values())
RULES = Path(__file__).resolve().parents[2] / "rules"


def test_the_reader_names_the_key_path_and_the_line():
    text = '{"a": [1, {"k": 1,\n"k": 2}], "b": {"c": [NaN]}}'
    with pytest.raises(NotStrictJSON) as refused:
        json_strict.loads(text)
    assert (refused.value.kind, refused.value.path, refused.value.line) == ("duplicate", ("a", 1, "k"), 2)
    for text, (kind, path, line) in {
        '{"a": {"b": [0, -Infinity]}}': ("constant", ("a", "b", 1), 1),
        "[1,\n 2,\n -1E+999]": ("range", (2,), 3),
        '{"x": {"t\\udc00": 1}}': ("surrogate", ("x", "t?"), 1),  # shown without the surrogate
        '{"s": "NaN, 1e400, \\"s\\": 1", "s2": "a\\ud800"}': ("surrogate", ("s2",), 1),  # in strings: text
        '{"t": [true, false, null, -0.5e-3], "s": "\\ud800"}': ("surrogate", ("s",), 1),  # words: no numbers
    }.items():
        with pytest.raises(NotStrictJSON) as refused:
            json_strict.loads(text)
        assert (refused.value.kind, refused.value.path, refused.value.line) == (kind, path, line), text
    with pytest.raises(NotStrictJSON, match="nested too deep"):
        json_strict.loads("[" * 100_000 + "]" * 100_000)


def test_what_json_says_is_read_as_written():
    text = '{"n": 100000000000000000000, "f": 1.5e300, "s": "NaN \\u00e9", "e": {}, "l": [], "k": {"a": 1, "b": 1}}'
    assert json_strict.loads(text) == json.loads(text)
    with pytest.raises(json.JSONDecodeError):  # not JSON at all: json's own error (a YAML fallback takes it)
        json_strict.loads("a: 1")


def shifted(said: str, lines: int) -> str:
    """A refusal's line numbers in a file that holds the text `lines` lines down."""
    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + lines}", said)


@pytest.mark.parametrize("text,said", CASES)
def test_a_json_seed(tmp_path: Path, text, said):
    path = tmp_path / "world.json"
    path.write_text(
        '{\n  "format": "karma-seed/v1",\n  "components": [\n'
        f'    {{"id": "vpc/x", "environment": "dev", "config": {text}}}\n  ]\n}}\n'
    )
    with pytest.raises(seeding.SeedError) as refused:
        seeding.read_file(path)
    assert refused.value.errors == [f"{path}: components[0] (vpc/x): config.{shifted(said, 3)}"]


@pytest.mark.parametrize("text,said", CASES)
def test_a_change_file(tmp_path: Path, text, said):
    path = tmp_path / "change.json"
    path.write_text(text)
    with pytest.raises(body.BodyError) as refused:
        body.build("vpc/karma-dev", path, (), ())
    assert str(refused.value) == f"{path}: not valid JSON: {said}"


@pytest.mark.parametrize("value", ["NaN", "1e400", '{"a": 1, "a": 2}'])
def test_a_value_set_on_the_command_line(value):
    """`--set k=NaN` sent NaN (the server's 400 named no flag), `--set k=1e400` infinity, and an object with a
    duplicated key its last value: each is refused naming the flag."""
    with pytest.raises(body.BodyError, match=r"^--set tags: (a: duplicated key|NaN is not|the number 1e400)"):
        body.build("vpc/karma-dev", None, (f"tags={value}",), ())
    assert body.parse_value("NaNa") == "NaNa" and body.parse_value('"NaN"') == "NaN"  # text stays text


@pytest.mark.parametrize("text,said", CASES)
def test_a_config_file_of_an_imported_tree(tmp_path: Path, text, said):
    """Refused as its file's contract drift (so --partial loads the rest), as a file that is not JSON is."""
    relative = "iac/dev/vpc/a/config.json"
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(text)
    with pytest.raises(importing.ImportError_) as refused:
        importing.plan(tmp_path)
    assert refused.value.errors[0].startswith(f"{relative}: config: not valid JSON: {said} [json]"), (
        refused.value.errors
    )
    assert refused.value.errors[-1] == "0 of 1 configs would load with --partial"


@pytest.mark.parametrize("text,said", CASES)
def test_a_rule_test_fixtures_seed(tmp_path: Path, text, said):
    seed = {"components": [{"id": "vpc/x", "environment": "dev", "config": "CONFIG"}]}
    (tmp_path / "seed.json").write_text(json.dumps(seed).replace('"CONFIG"', text))
    cases = tmp_path / "t.yaml"
    cases.write_text(
        textwrap.dedent(
            """\
            fixture: {seed: seed.json}
            cases:
              - {name: x, change: {component: vpc/x, proposed_change: {az_count: 2}, requested_by: a@b.c}, expect: {status: applied}}
            """
        )
    )
    with pytest.raises(CaseFileError) as refused:
        read_cases(cases)
    problem = said.split(", at line")[0]
    assert len(refused.value.errors) == 1 and f"seed.json: components[0] (vpc/x): config.{problem}" in str(
        refused.value
    )
    result = CliRunner().invoke(rules_cli, ["test", "--rules", str(RULES), str(cases)], catch_exceptions=False)
    assert result.exit_code == 1 and f"config.{problem}" in result.output, result.output


@pytest.mark.parametrize("text,said", CASES)
def test_a_change_typed_in_the_console(text, said):
    """A refusal (422 naming the form's field), not a YAML reading of the same text."""
    with pytest.raises(Unprocessable) as refused:
        parse_body('{"component": "vpc/karma-dev", "proposed_change": ' + text + "}")
    assert refused.value.errors["body"][0].startswith("proposed_change." + said.split(", at line")[0])


def test_a_console_querys_parameters():
    with pytest.raises(Unprocessable) as refused:
        parse_params('{"id": "vpc/a", "id": "vpc/b"}')
    assert refused.value.errors["params"] == ["id: duplicated key (first at line 1), at line 1"]


def test_a_change_piped_on_standard_input_is_json_when_it_is_json(monkeypatch):
    """`-f -` was read as YAML whatever it held, and YAML 1.1 reads JSON's `NaN` and `1e+20` (what json.dumps
    writes for 1e20: the change `karma plan` prints to pipe into `karma transitions propose -f -`) as the
    texts "NaN" and "1e+20", without a word. JSON on standard input is read as JSON, strictly; YAML as YAML."""

    def piped(text: str):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        return body.read_file(Path("-"))

    assert piped('{"component": "vpc/a", "proposed_change": {"n": 1e+20}}')["proposed_change"] == {"n": 1e20}
    with pytest.raises(body.BodyError, match=r"^-: not valid JSON: proposed_change\.n: NaN is not JSON"):
        piped('{"component": "vpc/a", "proposed_change": {"n": NaN}}')
    assert piped("component: vpc/a\nproposed_change: {n: 1}\n")["proposed_change"] == {"n": 1}
