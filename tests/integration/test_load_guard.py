"""A load of a config source (`karma seed FILE`, `karma import DIR`) with the config store OFF never silently
reverts an approved change through Karma: the graph is then the only record of it (nothing is written back),
so a seed file or a tree written before it says the older config. Refused as with the config store on
(app.import_guard: one implementation, one message shape), `--revert-lost-changes` the one way past; a
change a load made (its source says it) is the source's to change again."""

from __future__ import annotations

import json

import pytest

from app import importing, seeding
from app.changes.seed_sets import apply_file
from tests.conftest import SEED

BUCKET = "s3-bucket/karma-shared"
BUCKET_FILE = "iac/dev/s3-bucket/karma-shared/config.json"


def karma_of(app):
    return app.extensions["karma"]


def change(client, cid, patch):
    body = {"component": cid, "requested_by": "ops@usekarma.dev", "reason": "approved", "proposed_change": patch}
    resp = client.post("/request-change", json=body)
    out = resp.get_json()
    assert resp.status_code == 200 and out["status"] == "applied", out
    return out["change_id"]


def seed(app, path, **kwargs):
    karma = karma_of(app)
    return apply_file(karma.repo, karma.gate, path, requested_by="cli:tester", **kwargs)


def test_a_seed_written_before_an_approved_change_is_refused_with_the_config_store_off(app, client):
    """`karma seed seed/karma-world.yaml` after a change through the API used to plan `update ~versioning`
    and apply it: the approved change reverted, said only by a `~key`, with nothing else recording it."""
    change_id = change(client, BUCKET, {"versioning": False})
    for plan in (True, False):
        with pytest.raises(seeding.SeedError) as refused:
            seed(app, SEED, plan=plan)
        (line,) = refused.value.errors
        assert line == (
            f"{SEED}: {BUCKET} was changed through Karma by {change_id}, which {SEED} does not say (the config "
            "store is off: Karma writes no change back to a seed file, so the graph is the only record of it); "
            f"this seed would revert it — write the change into {SEED} (karma show {BUCKET}), then seed; or seed "
            "with --revert-lost-changes to revert it"
        ), line
    assert client.get(f"/components/{BUCKET}").get_json()["config"]["versioning"] is False
    done = seed(app, SEED, revert_lost=True)
    assert done["status"] == "applied" and [w["change_id"] for w in done["reverts"]] == [change_id], done
    assert client.get(f"/components/{BUCKET}").get_json()["config"]["versioning"] is True
    reason = client.get(f"/log/{done['log_entry_id']}").get_json()["reason"]
    assert f"reverts {change_id} (the seed file does not say it; the config store is off" in reason, reason


def test_a_seeds_own_change_is_the_files_to_change_again(app, client, tmp_path):
    """A change a seed made is said by its file: the next seed of an edited file changes it, no refusal."""
    world = tmp_path / "world.json"
    for versioning in (False, True):
        doc = {"components": [{"id": BUCKET, "environment": "dev", "config": bucket_config(versioning)}]}
        world.write_text(json.dumps(doc))
        assert seed(app, world)["status"] == "applied"


def bucket_config(versioning: bool) -> dict:
    return {
        "bucket_name": "karma-shared-dev",
        "versioning": versioning,
        "force_destroy": False,
        "enable_encryption": True,
        "sse_algorithm": "AES256",
        "block_public_access": True,
    }


def test_a_bulk_seed_never_recreates_what_an_approved_change_deleted(make_app, tmp_path):
    """An empty graph whose components Karma deleted (their versions outlive them): a seed of a file that
    still has one went in as a bulk load, which failed on the kept versions (a ConstraintError). Now it goes
    through the gate (creates continuing the history), refused as any load reverting Karma's change; with
    the flag, its audit entry names the change."""
    rules = tmp_path / "rules"  # no rule: the decommission of the whole world applies
    rules.mkdir()
    (rules / "none.yaml").write_text("rules: []\n")
    app = make_app(rules_dir=rules)
    client, karma = app.test_client(), karma_of(app)
    ids = sorted(karma.repo.component_ids(None))
    body = {"changes": [{"op": "delete", "component": cid} for cid in ids], "requested_by": "ops@usekarma.dev"}
    resp = client.post("/request-change", json=body | {"reason": "decommission"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()
    change_id = resp.get_json()["change_id"]
    assert karma.repo.component_count() == 0
    world = tmp_path / "world.json"
    doc = {"components": [{"id": BUCKET, "environment": "dev", "config": bucket_config(True)}]}
    world.write_text(json.dumps(doc))
    with pytest.raises(seeding.SeedError) as refused:
        seed(app, world)
    (line,) = refused.value.errors
    assert line.startswith(f"{world}: {BUCKET} was changed through Karma by {change_id}, which {world} does not say")
    assert karma.repo.component_count() == 0
    tree = tmp_path / "tree"  # an import of a tree that has it: the same, never a bulk load over its history
    write_tree(tree, True)
    for plan in (True, False):
        with pytest.raises(importing.ImportError_) as refused:
            importing.import_into(karma.repo, karma.gate, tree, identity="cli:tester", plan=plan)
        assert refused.value.errors[0].startswith(f"{BUCKET_FILE}: {BUCKET} was changed through Karma by {change_id}")
    # `karma serve`'s start-up seed (no gate: a bulk load only) says why it seeds nothing, instead of failing
    skipped = apply_file(karma.repo, None, world, requested_by="cli:tester")
    assert skipped["seed"] == "skipped" and "keeps the history" in skipped["notes"][0], skipped
    done = seed(app, world, revert_lost=True)
    assert done["seed"] == "change-set" and [w["change_id"] for w in done["reverts"]] == [change_id], done
    reason = client.get(f"/log/{done['log_entry_id']}").get_json()["reason"]
    assert f"reverts {change_id}" in reason, reason


def write_tree(tree, versioning: bool):
    path = tree / BUCKET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bucket_config(versioning)))


def import_now(app, tree, **kwargs):
    karma = karma_of(app)
    return importing.import_into(karma.repo, karma.gate, tree, identity="cli:tester", environments=["dev"], **kwargs)


def test_an_import_of_a_tree_without_an_approved_change_is_refused_with_the_config_store_off(app, client, tmp_path):
    """The tree is the operator's: Karma writes nothing back to it with the config store off, so an import
    after a change through the API used to revert it silently. Now refused, as a seed is; a change an
    import made (the tree said it) is the tree's to change again."""
    tree = tmp_path / "tree"
    write_tree(tree, True)
    change_id = change(client, BUCKET, {"versioning": False})
    with pytest.raises(importing.ImportError_) as refused:
        import_now(app, tree, plan=True)
    (line,) = refused.value.errors
    assert line == (
        f"{BUCKET_FILE}: {BUCKET} was changed through Karma by {change_id}, which {BUCKET_FILE} does not say (the "
        "config store is off: Karma writes no change back to the tree, so the graph is the only record of it); "
        f"this import would revert it — write the change into {BUCKET_FILE} (karma show {BUCKET}), then import; "
        "or import with --revert-lost-changes to revert it"
    ), line
    done = import_now(app, tree, revert_lost=True)
    assert done["status"] == "applied" and [w["change_id"] for w in done["reverts"]] == [change_id], done
    assert client.get(f"/components/{BUCKET}").get_json()["config"]["versioning"] is True
    change(client, BUCKET, {"versioning": False})
    write_tree(tree, False)  # the tree says Karma's change now: it imports, its own edit of a key included
    (tree / BUCKET_FILE).write_text(json.dumps(bucket_config(False) | {"force_destroy": True}))
    assert import_now(app, tree)["status"] == "applied"
    write_tree(tree, True)  # the last change is the import's: the tree said versioning false, its edit now
    assert import_now(app, tree)["status"] == "applied"
