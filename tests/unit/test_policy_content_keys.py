"""Wide impacts keyed by content (app.policy.facts.Reader, flatten_distinct, derive's count filters).

Rows are grouped exactly as the JSON texts of what the rules read of them are, whichever way a column is
keyed (strings, ints and nulls as themselves, lists of them as tuples, anything else value by value: bools,
floats, objects, a mix) and across chunk boundaries, where one column can be keyed both ways.
"""

from __future__ import annotations

import copy
import json

from app.policy import derive
from app.policy.facts import _CHUNK, Numbers, Reader, flatten, flatten_distinct
from test_policy_support import engine_for, facts, impacted, rule_yaml

MISSING = object()  # the row has no such key
# JSON texts differ pairwise but for the two objects (key order) and the null/missing pair
VARIANTS = [1, True, 1.0, -0.0, 0.0, "1", None, MISSING, 2**70, "x" * 130, "{", [1], [True], [1.0], ["a"]]
VARIANTS += [["a", None], [["a"]], {"k": 1, "j": [2]}, {"j": [2], "k": 1}, float("nan"), False, 0]


def _text(value) -> str:
    return json.dumps(None if value is MISSING else value, sort_keys=True)


def _row(index: int, value) -> dict:
    if value is MISSING:
        return impacted(f"lambda/r{index}", runtime={}, config={"a": {}})
    return impacted(f"lambda/r{index}", runtime={"v": copy.deepcopy(value)}, config={"a": {"b": copy.deepcopy(value)}})


def _values() -> list:
    """Chunk 0 mixes every variant (keyed value by value); chunk 1 holds only lists of strings and nulls
    (keyed as tuples), chunk 2 such lists and nulls or nothing (as the change fact reads an impacted
    path), chunk 3 only strings, ints and nulls (keyed as themselves): equal values must get equal keys
    across them."""
    mixed = [VARIANTS[i % len(VARIANTS)] for i in range(_CHUNK)]
    lists = [[["a"], ["a", None]][i % 2] for i in range(_CHUNK)]
    lists_or_null = [[["a"], None, [], MISSING, ["a", None]][i % 5] for i in range(_CHUNK)]
    plain = [["1", 1, None, MISSING, 0][i % 5] for i in range(_CHUNK)]
    return mixed + lists + lists_or_null + plain + VARIANTS


def _assert_grouped_by_json(keys: list, texts: list) -> None:
    by_key: dict = {}
    for key, text in zip(keys, texts, strict=True):
        by_key.setdefault(key, set()).add(text)
    assert all(len(group) == 1 for group in by_key.values()), "values with different JSON share a key"
    assert len(by_key) == len(set(texts)), "values with the same JSON got different keys"


def test_reader_keys_are_equal_exactly_when_the_json_texts_are():
    values = _values()
    reader = Reader([("runtime", "v"), ("config", "a", "b"), ("type",)])
    rows = [_row(i, value) for i, value in enumerate(values)]
    keys = reader.keys(rows, Numbers())
    _assert_grouped_by_json(keys, [_text(value) for value in values])


def test_objects_that_are_not_plain_dicts_read_as_nulls_or_through_their_get():
    class Mapping(dict):
        pass

    reader = Reader([("runtime", "v"), ("type",)])
    odd = [None, "text", {"runtime": "not an object", "type": None}, {}, Mapping(type=None, runtime=Mapping())]
    keys = reader.keys(odd + [{"runtime": {"v": None}, "type": None}], Numbers())
    assert len(set(keys)) == 1  # every one reads (null, null)
    shared = {"runtime": {"v": [1.5]}, "type": "t"}
    assert len(set(reader.keys([shared] * (_CHUNK + 3) + [copy.deepcopy(shared)], Numbers()))) == 1
    other = {"runtime": {"v": [2.5]}, "type": "t"}
    keys = reader.keys([shared, other, shared], Numbers())  # an object shared by some rows only
    assert keys[0] == keys[2] != keys[1]


def test_objects_many_rows_share_are_read_once_and_keyed_as_their_copies():
    """A change set's facts: each operation's change object shared by its rows, several in one chunk."""
    reader = Reader([("runtime", "v"), ("type",)])
    json_values = [v for v in VARIANTS if v is not MISSING]
    values = [json_values[i % len(json_values)] for i in range(len(json_values) + 5)]  # equal JSON, distinct objects
    objects = [{"runtime": {"v": copy.deepcopy(value)}, "type": "t"} for value in values]
    shared = [objects[i % len(objects)] for i in range(3 * _CHUNK + 4 * len(objects))]
    copies = [copy.deepcopy(obj) for obj in shared]  # the same contents, no object shared
    numbers = Numbers()
    read: list[list] = []
    original = Reader._keys
    reader._keys = lambda objs: read.append(objs) or original(reader, objs)
    keys = reader.keys(shared, numbers)
    assert sum(map(len, read)) == len(objects)  # each shared object read once, however many chunks hold it
    assert keys == reader.keys(copies, numbers)
    _assert_grouped_by_json(keys, [_text(values[i % len(objects)]) for i in range(len(shared))])


def _engine(tmp_path):
    return engine_for(
        tmp_path,
        rule_yaml("impacted: {runtime.v: {exists: true}, config.a.b: {empty: false}}", rule_id="v")
        + rule_yaml("{change: {environment: {ne: prod}}, impacted: {path_types: {contains: lambda}}}", rule_id="p")[
            len("rules:\n") :
        ],
    )


def test_flatten_distinct_groups_facts_exactly_by_the_content_the_rules_read(tmp_path):
    engine = _engine(tmp_path)
    values = _values()
    fact_list = facts(rows=[_row(i, value) for i, value in enumerate(values)])
    shards = engine._active.shards
    asserted, twins = flatten_distinct(fact_list, shards)

    texts = {f"{row + 1}.0": _text(value) for row, value in enumerate(values)}
    groups = list(twins.values())  # the change fact has no shard here: its rules all read impacted rows
    assert sorted(len({texts[i] for i in ids}) for ids in groups) == [1] * len(groups)
    assert len(groups) == len(set(texts.values()))
    # the engine facts in fact order, each group's ids in fact order, every fact once
    order = [int(a["id"].split(".")[0]) for a in asserted]
    assert order == sorted(order) and list(twins) == [a["id"] for a in asserted]
    members = [i for ids in twins.values() for i in ids]
    assert sorted(members, key=lambda i: int(i.split(".")[0])) == [f"{row}.0" for row in range(1, len(fact_list))]
    assert all(ids == sorted(ids, key=lambda i: int(i.split(".")[0])) for ids in twins.values())
    # and a group's facts are the same engine fact but for the id
    flat = {f["id"]: {k: v for k, v in f.items() if k != "id"} for f in flatten(fact_list, shards)}
    assert all(flat[i] == flat[ids[0]] for ids in twins.values() for i in ids)


def test_facts_without_a_section_or_not_dicts(tmp_path):
    engine = _engine(tmp_path)
    shards = engine._active.shards
    fact_list = facts(rows=[_row(0, "x"), _row(1, "x")])
    bare = [{k: v for k, v in fact_list[1].items() if k != "change"}, {**fact_list[2], "change": None}]
    asserted, twins = flatten_distinct(fact_list + bare, shards)
    assert twins["3.0"] == ["3.0", "4.0"]  # no change section reads as a null one
    assert twins["1.0"] == ["1.0", "2.0"] and len(asserted) == 2
    try:
        flatten_distinct(fact_list + ["not a dict"], shards)
    except TypeError as exc:
        assert str(exc) == "fact 3 is a str, expected a dict"
    else:
        raise AssertionError("a fact that is not a dict was flattened")


def test_count_filters_judge_each_row_as_it_reads(tmp_path):
    count = engine_for(
        tmp_path,
        # lambda declares no runtime output v: the rows are pinned by environment (a type would refuse the key)
        rule_yaml("count: {impacted: {runtime.v: {eq: 1}, environment: dev}, gte: 1}", rule_id="c"),
    )
    derivations = count._active.derivations
    values = _values()
    fact_list = facts(rows=[_row(i, value) for i, value in enumerate(values)])
    [(key, (_domain, tree))] = derivations.counts.items()
    expected = [
        f["impacted"]["id"] for f in fact_list[1:] if derive.holds(tree, {**fact_list[0], "impacted": f["impacted"]})
    ]
    assert expected and len(expected) < len(values)  # 1 and 1.0 hold, True does not
    [first, *_rest] = derive.apply(derivations, fact_list, None)
    assert first["count"][key] == {"n": len(expected), "ids": expected}


def test_overlaps_are_judged_for_each_fact_as_it_reads(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml("impacted: {runtime.v: {overlaps: {field: change.new.cidr_block}}}", rule_id="o")
        + rule_yaml("change: {new.cidr_block: {overlaps: 10.0.0.0/8}}", rule_id="c")[len("rules:\n") :],
    )
    derivations = engine._active.derivations
    blocks = ["10.42.9.0/24", "10.42.0.0/16", "192.168.0.0/24", ["10.42.9.8/29", "x"], ["172.16.0.0/12"], "::/0"]
    values = [[*blocks, *VARIANTS][i % (len(blocks) + len(VARIANTS))] for i in range(2 * _CHUNK + 7)]
    fact_list = facts(rows=[_row(i, value) for i, value in enumerate(values)])
    got = [fact["derived"] for fact in derive.apply(derivations, fact_list, None)]
    expected = [{key: derive.holds(cmp, fact) for key, cmp in derivations.overlaps.items()} for fact in fact_list]
    assert got == expected
    assert {flag for row in got for flag in row.values()} == {True, False}


def test_a_count_requiring_a_type_reads_the_rows_of_that_type_only(tmp_path, monkeypatch):
    count = engine_for(tmp_path, rule_yaml("count: {impacted: {type: ec2-instance, runtime.private_ip: 1}, gte: 1}"))
    derivations = count._active.derivations
    read: list[list] = []
    original = Reader.keys
    monkeypatch.setattr(
        Reader, "keys", lambda self, roots, numbers: read.append(roots) or original(self, roots, numbers)
    )
    rows = [_row(i, 1) for i in range(5)] + [
        impacted(f"ec2-instance/e{i}", runtime={"private_ip": i % 2}) for i in range(6)
    ]
    [first, *_rest] = derive.apply(derivations, facts(rows=rows), None)
    [(key, _count)] = derivations.counts.items()
    assert first["count"][key]["ids"] == ["ec2-instance/e1", "ec2-instance/e3", "ec2-instance/e5"]
    assert [[row["type"] for row in roots] for roots in read] == [["ec2-instance"] * 6]
