"""The layout-keeping write-back (app/configstore/layout.py) on the real aws-config files: a change to an
existing file changes only its own lines; whatever the editor cannot do exactly is a whole rewrite in the
file's own indent and key order, never a file that says something else."""

from __future__ import annotations

import difflib
import json

import pytest

from app.configstore import layout
from app.configstore.layout import keep_layout
from app.graph.codec import same_value
from app.configstore.tree import dumps, render
from app.settings import REPO_ROOT

IAC = REPO_ROOT / "tests" / "fixtures" / "aws-config" / "iac"
FOUR_SPACES = "dev/iot-digital-twin/core2-aws-001/config.json"  # 4-space, "telemetry_rate_hz": 1.0
INLINE_ARRAY = "dev/serverless-site/usekarma-dev/config.json"  # 2-space, "domain_aliases": ["dev.usekarma.dev"]
ODD_INDENT = "dev/serverless-site/test-site/config.json"  # 4 then 2, "  }" and "  " after the last newline
NO_NEWLINE = "prod/cognito-sso/usekarma-dev/config.json"  # a 4-space multi-line array, no trailing newline
NESTED = "prod/ecs-cluster/usekarma-dev/config.json"  # objects in an array, no trailing newline
GROUPED = "prod/grafana/usekarma-dev/config.json"  # blank lines between groups, an inline object


def text_of(rel: str) -> str:
    return (IAC / rel).read_bytes().decode("utf-8")


def edit(text: str, change) -> tuple[str, dict]:
    """keep_layout of `text` changed by `change` (a function of the parsed config) → (new text, value)."""
    value = json.loads(text)
    change(value)
    out = keep_layout(text, value)
    assert same_value(json.loads(out), value)
    return out, value


def changed(before: str, after: str) -> list[str]:
    """The diff's changed lines (`-old`, `+new`), as `git diff` would show them."""
    lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
    return [line.rstrip("\r\n") for line in lines if line[:1] in ("+", "-") and line[:3] not in ("+++", "---")]


def test_a_one_key_change_to_a_four_space_file_is_one_line():
    before = text_of(FOUR_SPACES)
    after, _ = edit(before, lambda v: v.update(offline_timeout_seconds=45))
    assert changed(before, after) == ['-    "offline_timeout_seconds": 30,', '+    "offline_timeout_seconds": 45,']
    assert '"telemetry_rate_hz": 1.0,' in after  # an unchanged 1.0 stays 1.0 (dumps would too, sorted)


def test_a_number_written_1_0_is_rewritten_only_when_its_value_changes():
    before = text_of(FOUR_SPACES)
    assert keep_layout(before, json.loads(before)) == before  # 1.0 as the file says it: nothing to do
    after, _ = edit(before, lambda v: v.update(telemetry_rate_hz=1))  # an integer is another JSON value
    assert changed(before, after) == ['-    "telemetry_rate_hz": 1.0,', '+    "telemetry_rate_hz": 1,']
    after, _ = edit(before, lambda v: v.update(telemetry_rate_hz=2.5))
    assert changed(before, after) == ['-    "telemetry_rate_hz": 1.0,', '+    "telemetry_rate_hz": 2.5,']
    after, _ = edit(before, lambda v: v.update(max_retry_attempts=False))  # 0 and false are two values
    assert changed(before, after) == ['-    "max_retry_attempts": 0,', '+    "max_retry_attempts": false,']


def test_a_value_inside_an_inline_array_changes_on_its_line():
    before = text_of(INLINE_ARRAY)
    after, _ = edit(before, lambda v: v["domain_aliases"].__setitem__(0, "preview.usekarma.dev"))
    assert changed(before, after) == [
        '-  "domain_aliases": ["dev.usekarma.dev"],',
        '+  "domain_aliases": ["preview.usekarma.dev"],',
    ]
    after, _ = edit(before, lambda v: v["domain_aliases"].append("www.dev.usekarma.dev"))
    assert changed(before, after) == [
        '-  "domain_aliases": ["dev.usekarma.dev"],',
        '+  "domain_aliases": ["dev.usekarma.dev", "www.dev.usekarma.dev"],',
    ]


def test_an_oddly_indented_file_keeps_every_other_byte():
    before = text_of(ODD_INDENT)
    assert before.endswith("    }\n  }\n  ")
    after, _ = edit(before, lambda v: v["tags"].update(Owner="ops"))
    assert changed(before, after) == ['-      "Owner": "strall"', '+      "Owner": "ops"']
    assert after.endswith("    }\n  }\n  ")  # the closing brace's odd place and the spaces after it


def test_a_nested_change_touches_only_its_line():
    before = text_of(NESTED)
    after, _ = edit(before, lambda v: v["default_capacity_strategy"][1].update(weight=3))
    assert changed(before, after) == ['-            "weight": 1', '+            "weight": 3']
    assert not after.endswith("\n")  # the file had no trailing newline: it still has none


def test_a_key_added_goes_after_the_last_member_with_the_siblings_indentation():
    before = text_of(ODD_INDENT)
    after, _ = edit(before, lambda v: v["tags"].update(CostCenter="42"))
    assert changed(before, after) == [
        '-      "Owner": "strall"',
        '+      "Owner": "strall",',
        '+      "CostCenter": "42"',
    ]
    after, _ = edit(before, lambda v: v.update(domain_aliases=["test.usekarma.dev"]))  # at the top level
    assert changed(before, after) == [  # this file writes no array on one line: the file's unit (4, 2: tie)
        "-    }",
        "+    },",
        '+    "domain_aliases": [',
        '+        "test.usekarma.dev"',
        "+    ]",
    ]
    before = text_of(INLINE_ARRAY)
    after, _ = edit(before, lambda v: v.update(extra_aliases=["a.usekarma.dev"]))  # this one does
    assert changed(before, after) == ["-  }", "+  },", '+  "extra_aliases": ["a.usekarma.dev"]']


def test_a_key_removed_goes_with_its_line_and_its_comma():
    before = text_of(GROUPED)
    after, _ = edit(before, lambda v: v.pop("hosted_zone_id"))  # in the middle: its line
    assert changed(before, after) == ['-  "hosted_zone_id": "Z1234567890ABC",']
    before = text_of(INLINE_ARRAY)
    after, _ = edit(before, lambda v: v["tags"].pop("Owner"))  # the last: the comma before it too
    assert changed(before, after) == [
        '-    "Project": "serverless-site",',
        '-    "Owner": "usekarma"',
        '+    "Project": "serverless-site"',
    ]


def test_a_multi_line_array_gains_and_loses_items_on_their_own_lines():
    before = text_of(NO_NEWLINE)
    after, _ = edit(before, lambda v: v["callback_hosts"].append("loki.usekarma.dev"))
    assert changed(before, after) == [
        '-        "redpanda.usekarma.dev"',
        '+        "redpanda.usekarma.dev",',
        '+        "loki.usekarma.dev"',
    ]
    after, _ = edit(before, lambda v: v["callback_hosts"].remove("clickhouse.usekarma.dev"))
    assert changed(before, after) == ['-        "clickhouse.usekarma.dev",']
    assert not after.endswith("\n")


def test_an_inline_object_stays_on_its_line():
    before = text_of(GROUPED)
    after, _ = edit(before, lambda v: v["tags"].update(Owner="ops", Team="obs"))
    assert changed(before, after) == [
        '-  "tags": { "Environment": "prod", "Project": "observability", "Owner": "usekarma" }',
        '+  "tags": { "Environment": "prod", "Project": "observability", "Owner": "ops", "Team": "obs" }',
    ]


def test_a_new_container_value_is_written_over_lines_in_the_files_unit_at_the_members_indentation():
    before = text_of(NESTED)
    after, _ = edit(before, lambda v: v.update(exec_logging={"mode": "OVERRIDE", "bucket": "logs"}))
    assert changed(before, after) == [
        '-    "exec_logging": "OVERRIDE",',
        '+    "exec_logging": {',
        '+        "mode": "OVERRIDE",',
        '+        "bucket": "logs"',
        "+    },",
    ]


def test_crlf_stays_crlf():
    before = text_of(INLINE_ARRAY).replace("\n", "\r\n")
    after, _ = edit(before, lambda v: (v["tags"].update(Team="web"), v.update(route53_zone_name="usekarma.dev")))
    assert changed(before, after) == [
        '-  "route53_zone_name": "usekarma.dev.",',
        '+  "route53_zone_name": "usekarma.dev",',
        '-    "Owner": "usekarma"',
        '+    "Owner": "usekarma",',
        '+    "Team": "web"',
    ]
    assert "\n" not in after.replace("\r\n", "")  # every line ending, the inserted ones too


def test_unicode_is_kept_as_written_and_new_text_is_written_as_itself():
    before = '{\n    "owner": "Ren\\u00e9e",\n    "comment": "caf\u00e9"\n}\n'
    after, _ = edit(before, lambda v: v.update(comment="th\u00e9 \u2615"))
    assert changed(before, after) == ['-    "comment": "caf\u00e9"', '+    "comment": "th\u00e9 \u2615"']
    assert '"Ren\\u00e9e"' in after  # an escape the author wrote, unchanged, stays an escape


def test_a_file_that_already_says_it_is_left_byte_for_byte():
    for path in sorted(IAC.rglob("config.json")):
        text = path.read_bytes().decode("utf-8")
        assert keep_layout(text, json.loads(text)) == text, path


def test_a_duplicate_key_is_a_whole_rewrite_in_the_files_indent_and_key_order():
    before = '{\n    "b": 1,\n    "a": 2,\n    "b": 3\n}'  # which "b" counts is the reader's guess
    after = keep_layout(before, {"b": 3, "a": 5})
    assert after == '{\n    "b": 3,\n    "a": 5\n}'  # no trailing newline, as before


def test_text_that_is_not_json_is_a_whole_rewrite_in_its_indent():
    assert keep_layout('{\n    "a": 1,\n}\n', {"z": 1, "a": 2}) == '{\n    "z": 1,\n    "a": 2\n}\n'


def test_an_edit_that_would_not_say_the_config_is_a_whole_rewrite(monkeypatch):
    """The safety net: the edited text is read back and must be the config exactly."""
    before = text_of(INLINE_ARRAY)
    value = json.loads(before) | {"enable_custom_domain": True}
    monkeypatch.setattr(layout._Editor, "result", lambda self: self.text)  # an editor that lost the edit
    after = keep_layout(before, value)
    assert json.loads(after) == value and list(json.loads(after)) == list(value)  # the file's key order
    assert after == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_a_new_file_keeps_the_one_deterministic_format():
    value = {"z": 1, "a": {"y": [1, 2], "b": "\u00e9"}}
    assert render(value, None) == dumps(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1.0, False),
        (1, True, False),
        (0, False, False),
        (1.0, 1.0, True),
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),  # key order is no part of a value
        ({"a": [1]}, {"a": [1.0]}, False),
        ([1, 2], [1, 2, 3], False),
        (None, {}, False),
        (0.0, -0.0, False),  # written differently: as merge_patch.touches compared them (their JSON text)
        ([float("nan")], [float("nan")], True),
        ((1, 2), [1, 2], True),
    ],
)
def test_same_value_is_json_equality_exactly(a, b, same):
    assert same_value(a, b) is same
