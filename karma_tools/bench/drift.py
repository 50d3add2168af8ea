"""The drift figures (issue 22): `karma import DIR --partial` of a generated config tree with 1% invalid
configs and 1% dangling references — configs per second, and the drift found, which must equal what was
planted — and `GET /drift` on the world it leaves (median ms).

The planted configs are leaves (nothing references them), so refusing one refuses nothing else: each
plants exactly one drift entry (an unknown key: contract; a nickname that names nothing: reference).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

from app import importing
from app.components import registry
from karma_tools.bench import generator
from karma_tools.bench.stats import summary

SIZES = (10_000, 100_000)
SHARE = 0.01  # of each kind
PLANTED_KEY = "planted_unknown_key"
PLANTED_NAME = "planted-missing"
IDENTITY = "bench:drift"


def sizes_for(world_sizes) -> tuple[int, ...]:
    """The figure's sizes the run's world sizes allow (a small run measures its smallest size)."""
    return tuple(s for s in SIZES if s <= max(world_sizes)) or (min(world_sizes),)


def _nickname_reference(component: dict):
    ctype = registry.get(component["type"])
    refs = [r for r in ctype.references if not r.by_value and "." not in r.key]
    return next((r for r in refs if isinstance(component["config"].get(r.key), str)), None)


def plant(components: list[dict], seed: int) -> tuple[list[dict], dict]:
    """The components with 1% of the leaves made invalid and 1% given a dangling reference →
    (components, {"invalid": [ids], "dangling": [ids]})."""
    targets = {e["target"] for e in generator.edges(components)}
    leaves = [i for i, c in enumerate(components) if c["id"] not in targets]
    referring = [i for i in leaves if _nickname_reference(components[i])]
    rng = random.Random(f"karma-bench-drift-{seed}")
    count = max(1, int(len(components) * SHARE))
    dangling = set(rng.sample(referring, min(count, len(referring))))
    invalid = set(rng.sample([i for i in leaves if i not in dangling], count))
    out = []
    for i, comp in enumerate(components):
        config = dict(comp["config"])
        if i in invalid:
            config[PLANTED_KEY] = True
        elif i in dangling:
            config[_nickname_reference(comp).key] = f"{PLANTED_NAME}-{i}"
        out.append({**comp, "config": config})
    ids = lambda chosen: sorted(components[i]["id"] for i in chosen)  # noqa: E731
    return out, {"invalid": ids(invalid), "dangling": ids(dangling)}


def write_tree(components: list[dict], root: Path) -> Path:
    """iac/<environment>/<type>/<nickname>/config.json for each component (as a config repository keeps them)."""
    shutil.rmtree(root, ignore_errors=True)
    for comp in components:
        type_name, nickname = comp["id"].split("/")[-2:]
        path = root / "iac" / comp["environment"] / type_name / nickname / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(comp["config"]), encoding="utf-8")
    return root


def import_once(repo, wipe, size: int, seed: int, work: Path, echo=print) -> dict:
    """One partial import of a generated tree into an emptied graph → its figures."""
    components, planted = plant(generator.generate(size, seed), seed)
    tree = write_tree(components, work / f"drift-tree-{size}")
    wipe()
    planted_text = f"{len(planted['invalid'])} invalid, {len(planted['dangling'])} dangling"
    echo(f"  import --partial of {size:,} configs ({planted_text})")
    started = time.monotonic()
    result = importing.import_tree(repo, tree, identity=IDENTITY, partial=True)
    seconds = time.monotonic() - started
    kinds = {"contract": 0, "reference": 0}
    for entry in result["drift"]:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    refused = sorted({e["component"] for e in result["drift"]})
    expected = sorted(planted["invalid"] + planted["dangling"])
    shutil.rmtree(tree, ignore_errors=True)
    return {
        "configs": size,
        "loaded": len(result["components"]),
        "seconds": round(seconds, 2),
        "configs_per_s": round(size / seconds, 1) if seconds else None,
        "drift_planted": len(expected),
        "drift_found": result["drift_recorded"],
        "drift_by_kind": kinds,
        "found_equals_planted": refused == expected
        and kinds == {"contract": len(planted["invalid"]), "reference": len(planted["dangling"])},
    }


def drift_read(client, headers: dict, samples: int) -> dict:
    """GET /drift on the world the last import left: median ms (and the entries it returned)."""
    times, total = [], None
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get("/drift", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            return {"error": response.status_code}
        total = response.get_json()["total"]
    return {**summary(times), "entries": total}


def figures(repo, wipe, client, token_for, sizes, seed: int, work: Path, samples: int = 20, echo=print) -> dict:
    """Every drift figure: one import per size (each into an emptied graph), then GET /drift on the last."""
    out: dict = {"imports": {}}
    for size in sizes:
        out["imports"][str(size)] = import_once(repo, wipe, size, seed, work, echo)
    headers = {"Authorization": f"Bearer {token_for()}"}
    out["get_drift"] = {"components": max(sizes), **drift_read(client, headers, samples)}
    out["found_equals_planted"] = all(row["found_equals_planted"] for row in out["imports"].values())
    return out
