"""Generated, realistic policy rule sets (for the 5 vs 500 rules benchmark).

Rules follow the shapes of the project's own rule files (`rules/*.yaml`, see docs/rules.md): account
guards on prod environments, key freezes per type, runtime-state checks on impacted components,
blast-radius warnings, unpublished-output warnings, depth and action checks. They name the generated
world's environments and types, so the engine sees the same kind of variety a real estate's rules have;
change windows, counts over the impact, path conditions, field-against-field and CIDR overlaps are in the
mix (docs/rules.md).
Most of them do not fire on the benchmark's change (a tag change in the probe environment), a few warn,
none rejects: the request is the same whatever the rule count.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import yaml

from app.components import registry

TYPES = (
    "vpc",
    "subnet",
    "ec2-instance",
    "s3-bucket",
    "lambda",
    "openapi",
    "serverless-api",
    "serverless-site",
    "cloudfront-distribution",
    "route53-zone",
    "ecs-cluster",
    "ecs-service",
    "clickhouse",
    "cognito-sso",
)


def _env(rng: random.Random) -> str:
    return f"a{rng.randint(1, 300):04d}-{rng.choice(('prod', 'staging', 'dev'))}"


def _account_guard(i: int, rng: random.Random) -> dict:
    env = f"a{rng.randint(1, 300):04d}-prod"
    owners = [f"team-{rng.randint(1, 60):02d}@example.com" for _ in range(3)]
    return {
        "id": f"g{i:04d}-{env}-owners",
        "effect": "reject",
        "description": f"Only the owners of {env} change its components.",
        "when": {"change": {"environment": env, "requested_by": {"not_in": owners}}},
        "message": "{change.requested_by} does not own " + env + " ({change.component})",
    }


def _key_freeze(i: int, rng: random.Random) -> dict:
    ctype = registry.get(rng.choice(TYPES))
    key = rng.choice(ctype.config_keys)
    return {
        "id": f"g{i:04d}-freeze-{ctype.name}-{key}".replace("_", "-"),
        "effect": "block",
        "description": f"Changes to {key} on a prod {ctype.name} wait for a change window.",
        "when": {
            "change": {
                "type": ctype.name,
                "changed_keys": {"contains": key},
                "environment": {"matches": "a[0-9]+-prod"},
            }
        },
        "message": "{change.component}: " + key + " changes wait for the change window",
    }


def _runtime_state(i: int, rng: random.Random) -> dict:
    env = _env(rng)
    return {
        "id": f"g{i:04d}-{env}-running-instances",
        "effect": "reject",
        "description": f"No subnet change in {env} under running instances.",
        "when": {
            "change": {"type": "subnet", "environment": env},
            "impacted": {"type": "ec2-instance", "runtime.state": {"in": ["pending", "running"]}},
        },
        "message": "{impacted.id} is {impacted.runtime.state}; stop it before changing {change.component}",
    }


def _blast_radius(i: int, rng: random.Random) -> dict:
    env = _env(rng)
    limit = rng.choice((25, 50, 100, 250))
    return {
        "id": f"g{i:04d}-{env}-blast-{limit}",
        "effect": "warn",
        "description": f"A change in {env} that affects more than {limit} components gets a review.",
        "when": {"change": {"environment": env, "affected_count": {"gt": limit}}},
        "message": "{change.component} affects {change.affected_count} components",
    }


def _unpublished(i: int, rng: random.Random) -> dict:
    provider, consumer = rng.choice(TYPES), rng.choice(TYPES)
    return {
        "id": f"g{i:04d}-{provider}-to-{consumer}-unpublished",
        "effect": "warn",
        "description": f"A {consumer} impacted by a {provider} change has not published its outputs.",
        "when": {"change": {"type": provider}, "impacted": {"type": consumer, "runtime_published": False}},
        "message": "{impacted.id} has no runtime outputs yet; its {impacted.action} may fail",
    }


def _depth(i: int, rng: random.Random) -> dict:
    ctype = rng.choice(TYPES)
    depth = rng.randint(3, 8)
    return {
        "id": f"g{i:04d}-{ctype}-depth-{depth}",
        "effect": "warn",
        "description": f"A {ctype} change reaching {depth}+ hops away gets a review.",
        "when": {"change": {"type": ctype}, "impacted": {"depth": {"gte": depth}}},
        "message": "{impacted.id} is {impacted.depth} hops from {change.component}",
    }


def _action(i: int, rng: random.Random) -> dict:
    env = _env(rng)
    return {
        "id": f"g{i:04d}-{env}-rolling-restart",
        "effect": "block",
        "description": f"Rolling restarts in {env} are scheduled, not immediate.",
        "when": {"change": {"environment": env}, "impacted": {"action": "rolling-restart", "environment": env}},
        "message": "{impacted.id} needs a rolling restart; scheduled with the platform team",
    }


ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")


def _window(i: int, rng: random.Random) -> dict:
    """A change window (docs/rules.md): no prod changes at weekends or after hours, in a team's zone."""
    env, zone, hour = f"a{rng.randint(1, 300):04d}-prod", rng.choice(ZONES), rng.randint(15, 19)
    return {
        "id": f"g{i:04d}-{env}-window",
        "effect": "block",
        "description": f"{env} changes wait for the change window ({zone}).",
        "when": {
            "change": {"environment": env},
            "time": {"zone": zone, "any": [{"weekday": ["sat", "sun"]}, {"hour": {"gte": hour}}]},
        },
        "message": "{change.component}: outside the change window of " + env,
    }


def _count(i: int, rng: random.Random) -> dict:
    """A count over the impact: too many of one type in one state."""
    env, ctype, limit = _env(rng), rng.choice(TYPES), rng.choice((3, 5, 10, 25))
    return {
        "id": f"g{i:04d}-{env}-many-{ctype}",
        "effect": "block",
        "description": f"A change in {env} reaching more than {limit} published {ctype} waits.",
        "when": {
            "change": {"environment": env},
            "count": {"name": "hit", "impacted": {"type": ctype, "runtime_published": True}, "gt": limit},
        },
        "message": "{change.component} reaches {count.hit} " + ctype,
    }


def _path(i: int, rng: random.Random) -> dict:
    """A path condition: reached through a type, via a reference key."""
    through, target = rng.choice(TYPES), rng.choice(TYPES)
    return {
        "id": f"g{i:04d}-{target}-through-{through}",
        "effect": "warn",
        "description": f"A {target} reached through a {through} gets a review.",
        "when": {"impacted": {"type": target, "path_types": {"contains": through}, "depth": {"gte": 2}}},
        "message": "{impacted.id} is reached through " + through + " (via {impacted.via})",
    }


def _field_ref(i: int, rng: random.Random) -> dict:
    """Field against field: a dependent configured for another VPC than the one its subnet moves to."""
    env = _env(rng)
    return {
        "id": f"g{i:04d}-{env}-vpc-move",
        "effect": "reject",
        "description": f"No subnet in {env} moves away from its dependents' VPC.",
        "when": {
            "change": {"type": "subnet", "environment": env, "changed_keys": {"contains": "vpc_nickname"}},
            "impacted": {"config.vpc_nickname": {"exists": True, "ne": {"field": "change.new.vpc_nickname"}}},
        },
        "message": "{impacted.id} stays in VPC {impacted.config.vpc_nickname}",
    }


def _overlap(i: int, rng: random.Random) -> dict:
    """A CIDR overlap with sibling subnets."""
    env = _env(rng)
    return {
        "id": f"g{i:04d}-{env}-cidr-overlap",
        "effect": "reject",
        "description": f"A subnet block in {env} must not overlap its siblings'.",
        "when": {
            "change": {"type": "subnet", "environment": env, "changed_keys": {"contains": "cidr_block"}},
            "count": {"siblings": {"config.cidr_block": {"overlaps": {"field": "change.new.cidr_block"}}}, "gte": 1},
        },
        "message": "{change.new.cidr_block} overlaps a sibling subnet",
    }


FAMILIES = (
    _account_guard,
    _key_freeze,
    _runtime_state,
    _blast_radius,
    _unpublished,
    _depth,
    _action,
    _window,
    _count,
    _path,
    _field_ref,
    _overlap,
)


def _probe_review(i: int, rng: random.Random) -> dict:
    """The one rule that fires on the benchmark's change, in every set (so decisions are exercised)."""
    return {
        "id": f"g{i:04d}-bench-probe-review",
        "effect": "warn",
        "description": "Changes in the benchmark's probe environment that reach 10+ components get a review.",
        "when": {"change": {"environment": "bench-probe", "affected_count": {"gte": 10}}},
        "message": "{change.component} affects {change.affected_count} components",
    }


def generate(n: int, seed: int = 7) -> list[dict]:
    """`n` distinct rules: one that fires on the benchmark's change, then the families in turn."""
    rng = random.Random(seed)
    rules, ids = [_probe_review(0, rng)], {"g0000-bench-probe-review"}
    i = 1
    while len(rules) < n:
        rule = FAMILIES[(i - 1) % len(FAMILIES)](i, rng)
        i += 1
        if rule["id"] in ids:
            continue
        ids.add(rule["id"])
        rules.append(rule)
    return rules


def write(directory: Path, n: int, seed: int = 7, per_file: int = 50) -> Path:
    """Writes `n` generated rules as YAML files of `per_file` rules into `directory` (emptied first)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    rules = generate(n, seed)
    for k in range(0, len(rules), per_file):
        path = directory / f"bench-{k // per_file:03d}.yaml"
        path.write_text(
            "# Generated by karma_tools/bench/rules.py for the rule-scaling benchmark.\n"
            + yaml.safe_dump({"rules": rules[k : k + per_file]}, sort_keys=False, width=120),
            encoding="utf-8",
        )
    return directory


# ------------------------------------------------------------------------------------------ issue 20 figures
DIFFERENTIAL_EXAMPLES = 150  # generated rule files per corpus (general and patterns) in `make bench`


def differential(examples: int = DIFFERENTIAL_EXAMPLES) -> dict:
    """The differential corpus (engine vs oracle, karma_tools/rulecorpus): cases per second, disagreements."""
    from karma_tools.rulecorpus.corpus import run  # noqa: PLC0415 - hypothesis, only when measured

    started = time.perf_counter()
    tally = run(examples)
    out = tally.to_dict()
    out["wall_s"] = round(time.perf_counter() - started, 2)
    return out


def coverage(repo, rules_dir: Path, types_dir: Path) -> dict:
    """`karma rules coverage` on the bench graph for one rule set: the graph summary query, the cases of
    ``rules_dir/tests`` (if any), the per-rule report; wall time of each."""
    from app.policy.engine import PolicyEngine  # noqa: PLC0415
    from app.ruletools import coverage as cov  # noqa: PLC0415

    engine = PolicyEngine(rules_dir)
    engine.load()
    declared = cov.declared_types(types_dir)
    started = time.perf_counter()
    summary = repo.rules_coverage_world()
    world = cov.World.from_summary(summary["types"], summary["edges"], declared)
    query_s = time.perf_counter() - started
    tests = rules_dir / "tests"
    evaluations, fired, errors = cov.case_evaluations(engine, [tests]) if tests.is_dir() else ([], {}, [])
    cases_s = time.perf_counter() - started - query_s
    doc = cov.report(engine.rules(), world, evaluations, fired, errors)
    wall_s = time.perf_counter() - started
    return {
        "rules": engine.rule_count,
        "components": doc["summary"]["graph_components"],
        "cases": doc["summary"]["cases"],
        "dead": len(doc["summary"]["dead"]),
        "uncovered": len(doc["summary"]["uncovered"]),
        "shadowed": len(doc["summary"]["shadowed"]),
        "query_s": round(query_s, 3),
        "cases_s": round(cases_s, 3),
        "report_s": round(wall_s - query_s - cases_s, 3),
        "wall_s": round(wall_s, 3),
    }
