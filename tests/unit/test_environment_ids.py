"""Environment-qualified ids, the importer's choice of ids, nickname resolution by type and nickname,
and the config store's pure parts (file format, git identities, commit summaries)."""

from __future__ import annotations

from collections import Counter

import pytest

from app.components import get_type, parse_id, split_id
from app.components import references
from app.configstore.handler import message, summary
from app.configstore.tree import dumps, identity
from app.importing import tree_id


def test_ids_take_both_forms_and_a_qualified_one_names_a_known_type():
    assert parse_id("vpc/karma-dev") == (None, "vpc", "karma-dev")
    assert parse_id("dev/serverless-site/strall-com") == ("dev", "serverless-site", "strall-com")
    assert split_id("dev/serverless-site/strall-com") == ("serverless-site", "strall-com")
    for bad in ("a/b/c", "Dev/vpc/x", "dev/vpc/x/y", "dev//x"):
        with pytest.raises(ValueError):
            parse_id(bad)
    # /components/dev/vpc/impact would be the impact of `dev/vpc`: a qualified id cannot end so
    assert parse_id("vpc/impact") == (None, "vpc", "impact")  # two parts: its paths do not clash
    for word in ("impact", "versions", "runtime"):
        with pytest.raises(ValueError, match="kept for the API's paths"):
            parse_id(f"dev/vpc/{word}")


def test_only_the_names_an_import_brings_from_several_environments_are_qualified():
    shared = Counter({("serverless-site", "strall-com"): 2, ("vpc", "x"): 1})
    assert tree_id(("dev", "serverless-site", "strall-com"), shared) == "dev/serverless-site/strall-com"
    assert tree_id(("prod", "vpc", "x"), shared) == "vpc/x"


def test_a_nickname_resolves_in_scope_to_whatever_id_the_target_has():
    subnet = get_type("subnet")
    rows = [
        {"id": "dev/vpc/core", "exists": True, "type": "vpc", "environment": "dev"},
        {"id": "prod/vpc/core", "exists": True, "type": "vpc", "environment": "prod"},
    ]
    resolved, errors = references.resolve(subnet, "prod", {"vpc_nickname": "core"}, references.Found(refs=rows))
    assert errors == {} and resolved == {("vpc_nickname", "core"): "prod/vpc/core"}
    assert subnet.edges("subnet/a", {"vpc_nickname": "core"}, resolved)[0]["target"] == "prod/vpc/core"
    _, errors = references.resolve(subnet, "staging", {"vpc_nickname": "core"}, references.Found(refs=rows))
    assert "not 'staging'" in errors["vpc_nickname"][0]


def test_files_are_deterministic_and_authors_are_always_valid():
    assert (
        dumps({"b": 1, "a": {"d": [1], "c": "é"}})
        == '{\n  "a": {\n    "c": "é",\n    "d": [\n      1\n    ]\n  },\n  "b": 1\n}\n'
    )
    assert identity("ted@strall.com") == ("ted@strall.com", "ted@strall.com")
    assert identity("cli:alice") == ("cli:alice", "cli-alice@karma.invalid")
    assert identity("x <evil>\n") == ("x evil", "x-evil@karma.invalid")


def test_a_commit_message_names_the_log_entry_and_the_diff():
    writes = [
        {"id": "vpc/a", "deleted": False, "cause": "change"},
        {"id": "subnet/b", "deleted": True, "cause": "delete"},
    ]
    diff = [
        {"component": "vpc/a", "key": "cidr", "op": "changed"},
        {"component": "vpc/a", "key": "tags", "op": "added"},
    ]
    lines = summary(writes, diff, None)
    assert lines == ["vpc/a: +tags ~cidr", "delete subnet/b"]
    text = message({"log_entry_id": "log-1", "change_id": "chg-1", "requested_by": "ted"}, "evt-1", lines)
    assert text.startswith("log-1: 2 components\n\nvpc/a: +tags ~cidr\ndelete subnet/b\n\n")
    assert text.rstrip().endswith("Karma-Event-Id: evt-1") and "Karma-Change-Id: chg-1" in text
    assert "Karma-Approved-By" not in text
    approved = {"log_entry_id": "log-2", "change_id": "chg-2", "requested_by": "ted", "approved_by": "eve"}
    trailers = message(approved, "evt-2", lines).rstrip().split("\n\n")[-1].splitlines()
    assert trailers == [
        "Karma-Change-Id: chg-2",
        "Karma-Requested-By: ted",
        "Karma-Approved-By: eve",
        "Karma-Event-Id: evt-2",
    ]
