from app.changes import merge_patch
from app.changes.diff import diff, keys


def test_rfc7386_examples():
    # The examples of RFC 7386, appendix A (a selection).
    assert merge_patch.apply({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch.apply({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch.apply({"a": "b"}, {"a": None}) == {}
    assert merge_patch.apply({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert merge_patch.apply({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch.apply({"a": "c"}, {"a": ["b"]}) == {"a": ["b"]}
    assert merge_patch.apply({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch.apply({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch.apply({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch.apply({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_apply_does_not_mutate_inputs():
    target = {"functions": {"f": {"timeout": 10}}}
    patch = {"functions": {"f": {"timeout": 20}}}
    out = merge_patch.apply(target, patch)
    assert target == {"functions": {"f": {"timeout": 10}}}
    assert out == {"functions": {"f": {"timeout": 20}}}


def _undo(before: dict, patch: dict) -> dict:
    """What a rollback sends: the merge patch from `after` back to `before`, on the touched keys only."""
    after = merge_patch.apply(before, patch)
    return merge_patch.create(
        {k: v for k, v in after.items() if k in patch}, {k: v for k, v in before.items() if k in patch}
    )


def test_create_undoes_touched_keys():
    before = {"a": 1, "b": {"x": 1}, "c": 3}
    patch = {"a": 2, "b": None, "d": 4}
    after = merge_patch.apply(before, patch)
    assert merge_patch.apply(after, _undo(before, patch)) == before


def test_diff_added_changed_removed():
    entries = diff({"a": 1, "b": [1], "c": "x"}, {"a": 1, "b": [1, 2], "d": True})
    assert entries == [
        {"key": "b", "op": "changed", "old": [1], "new": [1, 2]},
        {"key": "c", "op": "removed", "old": "x", "new": None},
        {"key": "d", "op": "added", "old": None, "new": True},
    ]
    assert keys(entries) == ["b", "c", "d"] and keys(entries, "removed") == ["c"]


def test_diff_sees_type_changes_and_nothing_when_equal():
    assert diff({"a": 1}, {"a": True})[0]["op"] == "changed"
    assert diff({"a": {"x": [1]}}, {"a": {"x": [1]}}) == []


def test_create_of_nested_additions_removes_them():
    before = {"functions": {"a": {"timeout": 10}}}
    patch = {"functions": {"b": {"timeout": 5}, "a": {"timeout": 20}}}
    after = merge_patch.apply(before, patch)
    undo = _undo(before, patch)
    assert undo == {"functions": {"a": {"timeout": 10}, "b": None}}
    assert merge_patch.apply(after, undo) == before


def test_create_round_trips():
    source = {"a": 1, "b": {"x": [1, 2], "y": "k"}, "c": True}
    target = {"a": 2, "b": {"x": [1], "z": {"q": 1}}, "d": "new"}
    assert merge_patch.apply(source, merge_patch.create(source, target)) == target
    assert merge_patch.create(target, target) == {}


def test_touches_compares_values_exactly_as_the_config_store_does():
    # 1 -> 1.0 (or true) is a change of the key: a patch of it overlaps; key order is no change
    assert merge_patch.touches({"a": 2}, {"a": 1}, {"a": 1.0})
    assert merge_patch.touches({"a": 2}, {"a": 1}, {"a": True})
    assert merge_patch.touches({"a": 2}, {"a": 0.0}, {"a": -0.0})
    assert not merge_patch.touches({"a": 2}, {"a": {"x": 1, "y": [1.5]}}, {"a": {"y": [1.5], "x": 1}})
    assert not merge_patch.touches({"a": 2}, {"a": float("nan")}, {"a": float("nan")})
