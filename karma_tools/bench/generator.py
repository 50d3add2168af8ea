"""A deterministic synthetic estate shaped like real ones, built from the karma world's types.

The world is one *stream* of components, environment after environment, every component after the
components it references. `generate(n, seed)` is the first `n` of that stream, so the world of 1k is a
prefix of the world of 10k, which is a prefix of the world of 100k: a bigger world only adds
environments (and the last environment of a world may be cut short, which still leaves every reference
valid). References never leave an environment, as in the seed file rules.

The stream starts with the **probe** environment, built the same way for every seed and size: the
components the benchmarks change (see `PROBES`), so every size measures the same local impact.
After it come accounts with dev/staging/prod environments of varied size (vpcs → subnets → ec2
instances, buckets shared by several lambdas, openapi specs with apis and lambdas, sites with their
distribution and zone, ecs clusters and services, clickhouse), and every 40th environment is a large
*platform* environment whose network and artifact bucket are very popular (hundreds of dependents).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from collections.abc import Iterator

from app.components import references

PROBE_ENV = "bench-probe"
PLATFORM_EVERY = 40  # every 40th environment (from the 20th) is a platform environment
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
INSTANCE_TYPES = ("t3.micro", "t3.small", "t3.medium", "m6i.large", "m6i.xlarge", "c6i.large", "r6i.large")
RUNTIMES = ("python3.12", "python3.11", "nodejs20.x", "java21", "provided.al2023")


@dataclass(frozen=True)
class Probe:
    """A component the benchmarks change, and how: `change(n)` is a merge patch that differs per `n`."""

    role: str
    component: str
    key: str  # the config key the change touches (a tags map, or a string)

    def change(self, n: int | str) -> dict:
        if self.key == "tags":
            return {"tags": {"bench-run": str(n)}}
        return {self.key: f"bench-{n}"}


# The probe environment's known components, from the smallest impact to the largest.
PROBES = {
    "none": Probe("none", "cognito-sso/probe-login", "client_name"),
    "subnet": Probe("subnet", "subnet/probe-core-a", "tags"),
    "local": Probe("local", "vpc/probe-core", "tags"),  # THE fixed local impact
    "bucket": Probe("bucket", "s3-bucket/probe-shared", "tags"),
    "hub": Probe("hub", "vpc/probe-hub", "tags"),
}
LOCAL = PROBES["local"]


def component(cid: str, environment: str, config: dict, runtime: dict | None = None) -> dict:
    type_name, nickname = cid.split("/")
    return {
        "id": cid,
        "type": type_name,
        "nickname": nickname,
        "environment": environment,
        "config": config,
        "runtime": runtime or {},
    }


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


class _Env:
    """Builds one environment's components in reference order."""

    def __init__(self, name: str, rng: random.Random, account: str, net: int):
        self.name, self.rng, self.account, self.net = name, rng, account, net
        self.region = rng.choice(REGIONS)
        self.items: list[dict] = []

    def add(self, cid: str, config: dict, runtime: dict | None = None) -> str:
        self.items.append(component(cid, self.name, config, runtime))
        return cid.split("/")[1]

    def published(self) -> bool:
        return self.rng.random() < 0.93  # some components have not reported their outputs yet

    def tags(self) -> dict:
        return {
            "Environment": self.name,
            "Owner": f"team-{self.rng.randint(1, 60):02d}",
            "CostCenter": f"cc-{self.rng.randint(100, 999)}",
        }

    # --- network -----------------------------------------------------------------------------
    def vpc(self, nick: str, octet: int, azs: int) -> str:
        cidr = f"10.{octet % 256}.0.0/16"
        rt = {
            "vpc_id": f"vpc-{_hex(self.rng, 17)}",
            "vpc_cidr": cidr,
            "public_subnet_ids": [f"subnet-{_hex(self.rng, 17)}" for _ in range(azs)],
            "private_subnet_ids": [f"subnet-{_hex(self.rng, 17)}" for _ in range(azs)],
            "default_sg_id": f"sg-{_hex(self.rng, 17)}",
            "has_nat": True,
        }
        return self.add(
            f"vpc/{nick}",
            {
                "cidr": cidr,
                "az_count": azs,
                "enable_ssm_endpoints": True,
                "single_nat_gateway": self.name.endswith("dev"),
                "tags": self.tags(),
            },
            rt if self.published() else {},
        )

    def subnet(self, nick: str, vpc: str, octet: int, third: int) -> str:
        az = f"{self.region}{'abcdef'[third % 3]}"
        cidr = f"10.{octet % 256}.{third % 256}.0/24"
        rt = {"subnet_id": f"subnet-{_hex(self.rng, 17)}", "availability_zone": az, "cidr_block": cidr}
        return self.add(
            f"subnet/{nick}",
            {
                "vpc_nickname": vpc,
                "cidr_block": cidr,
                "availability_zone": az,
                "map_public_ip_on_launch": False,
                "tags": self.tags(),
            },
            rt if self.published() else {},
        )

    def ec2(self, nick: str, subnet: str, octet: int, third: int, host: int) -> str:
        ip = f"10.{octet % 256}.{third % 256}.{host % 250 + 4}"
        rt = {"instance_id": f"i-{_hex(self.rng, 17)}", "private_ip": ip, "state": "running"}
        return self.add(
            f"ec2-instance/{nick}",
            {
                "subnet_nickname": subnet,
                "instance_type": self.rng.choice(INSTANCE_TYPES),
                "ami": f"ami-{_hex(self.rng, 17)}",
                "key_name": "ops",
                "tags": {"Role": self.rng.choice(("web", "worker", "batch", "db"))},
            },
            rt if self.published() else {},
        )

    # --- storage and apis ----------------------------------------------------------------------
    def bucket(self, nick: str) -> str:
        name = nick[:63]
        return self.add(
            f"s3-bucket/{nick}",
            {
                "bucket_name": name,
                "versioning": True,
                "force_destroy": False,
                "enable_encryption": True,
                "sse_algorithm": self.rng.choice(("AES256", "aws:kms")),
                "block_public_access": True,
                "tags": self.tags(),
            },
            {"bucket_name": name, "bucket_arn": f"arn:aws:s3:::{name}"},
        )

    def openapi(self, nick: str, bucket: str) -> str:
        return self.add(
            f"openapi/{nick}",
            {
                "s3_bucket_nickname": bucket,
                "spec_key": f"openapi/{nick}.yaml",
                "title": nick,
                "version": f"1.{self.rng.randint(0, 30)}.0",
            },
            {"source": f"s3://{bucket}/openapi/{nick}.yaml"} if self.published() else {},
        )

    def lambda_(self, nick: str, vpc: str | None, openapi: str | None, bucket: str | None) -> str:
        fns = {
            f"{nick}-{i}": {
                "runtime": self.rng.choice(RUNTIMES),
                "handler": "main.handler",
                "memory_size": self.rng.choice((128, 256, 512, 1024)),
                "timeout": self.rng.choice((3, 10, 30, 60)),
                "environment": {"LOG_LEVEL": "info"},
            }
            for i in range(1, self.rng.randint(1, 3) + 1)
        }
        config: dict = {"functions": fns}
        if vpc:
            config["vpc_nickname"] = vpc
        if openapi:
            config["openapi_nickname"] = openapi
        if bucket:
            config["s3_bucket_nickname"] = bucket
        acct = self.account
        rt = {
            "function_arns": {f: f"arn:aws:lambda:{self.region}:{acct}:function:{f}" for f in fns},
            "arn": f"arn:aws:lambda:{self.region}:{acct}:function:{nick}",
        }
        return self.add(f"lambda/{nick}", config, rt if self.published() else {})

    def api(self, nick: str, openapi: str, lambdas: list[str], zone: str | None) -> str:
        api_id = _hex(self.rng, 10)
        config: dict = {
            "api_name": nick,
            "stage_name": "v1",
            "openapi_nickname": openapi,
            "lambda_nicknames": lambdas,
            "enable_custom_domain": zone is not None,
        }
        if zone:
            config.update(
                domain_name=f"{nick}.example.com", route53_zone_name="example.com", route53_zone_nickname=zone
            )
        rt = {
            "api_id": api_id,
            "api_endpoint": f"https://{api_id}.execute-api.{self.region}.amazonaws.com",
            "stage_name": "v1",
        }
        return self.add(f"serverless-api/{nick}", config, rt if self.published() else {})

    # --- sites -------------------------------------------------------------------------------------
    def distribution(self, nick: str) -> str:
        did = "E" + _hex(self.rng, 13).upper()
        return self.add(
            f"cloudfront-distribution/{nick}",
            {"comment": f"{nick} site", "price_class": "PriceClass_100", "default_root_object": "index.html"},
            {
                "distribution_id": did,
                "domain_name": f"d{_hex(self.rng, 13)}.cloudfront.net",
                "arn": f"arn:aws:cloudfront::{self.account}:distribution/{did}",
            }
            if self.published()
            else {},
        )

    def zone(self, nick: str, distributions: list[str]) -> str:
        zid = "Z" + _hex(self.rng, 13).upper()
        return self.add(
            f"route53-zone/{nick}",
            {
                "zone_name": f"{nick}.example.com.",
                "comment": f"{self.name} zone",
                "alias_distribution_nicknames": distributions,
            },
            {
                "zone_id": zid,
                "zone_arn": f"arn:aws:route53:::hostedzone/{zid}",
                "name_servers": ["ns-1.awsdns-01.com", "ns-2.awsdns-02.net"],
            },
        )

    def site(self, nick: str, distribution: str, zone: str) -> str:
        return self.add(
            f"serverless-site/{nick}",
            {
                "site_name": f"{nick}.example.com",
                "content_bucket_prefix": nick,
                "index_document": "index.html",
                "error_document": "404.html",
                "enable_custom_domain": True,
                "cloudfront_aliases": [f"{nick}.example.com"],
                "route53_zone_name": f"{zone}.example.com",
                "route53_zone_nickname": zone,
                "cloudfront_distribution_nickname": distribution,
            },
            {"content_bucket_prefix": nick} if self.published() else {},
        )

    # --- containers, databases, identity -------------------------------------------------------------
    def ecs_cluster(self, nick: str, vpc: str) -> str:
        return self.add(
            f"ecs-cluster/{nick}",
            {
                "cluster_name": nick,
                "vpc_nickname": vpc,
                "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
                "container_insights": True,
            },
            {"cluster_arn": f"arn:aws:ecs:{self.region}:{self.account}:cluster/{nick}", "cluster_name": nick},
        )

    def ecs_service(self, nick: str, cluster: str, vpc: str) -> str:
        return self.add(
            f"ecs-service/{nick}",
            {
                "service_name": nick,
                "ecs_cluster_nickname": cluster,
                "vpc_nickname": vpc,
                "image": f"registry.local/{nick}:1.0.0",
                "desired_count": self.rng.randint(1, 6),
            },
            {"service_arn": f"arn:aws:ecs:{self.region}:{self.account}:service/{cluster}/{nick}", "running_count": 1}
            if self.published()
            else {},
        )

    def clickhouse(self, nick: str, vpc: str, bucket: str | None, cluster: str | None) -> str:
        config = {
            "vpc_nickname": vpc,
            "instance_type": "m6i.large",
            "ebs_size_gb": 500,
            "http_port": 8123,
            "tcp_port": 9000,
        }
        if bucket:
            config["s3_bucket_nickname"] = bucket
        if cluster:
            config["ecs_cluster_nickname"] = cluster
        return self.add(f"clickhouse/{nick}", config, {})

    def cognito(self, nick: str) -> str:
        return self.add(
            f"cognito-sso/{nick}",
            {
                "callback_hosts": [f"{nick}.example.com"],
                "user_pool_name": f"{nick}-users",
                "client_name": f"{nick}-web",
                "domain_prefix": nick,
            },
            {"user_pool_id": f"{self.region}_{_hex(self.rng, 9)}", "client_id": _hex(self.rng, 26)},
        )


# ------------------------------------------------------------------------------------------ probe


def probe_environment() -> list[dict]:
    """The environment the benchmarks change: fixed shape, the same for every seed and size (~500)."""
    env = _Env(PROBE_ENV, random.Random("karma-bench-probe"), "100000000000", 200)
    # the local impact: vpc/probe-core
    core = env.vpc("probe-core", 200, 2)
    subnets = [env.subnet(f"probe-core-{s}", core, 200, i + 1) for i, s in enumerate("abcd")]
    for i, sn in enumerate(subnets):
        for h in range(1, 7):
            env.ec2(f"{sn}-{h}", sn, 200, i + 1, h)
    # the hub: a shared network with many dependents (the large impact)
    hub = env.vpc("probe-hub", 201, 3)
    hub_subnets = [env.subnet(f"probe-hub-{i:02d}", hub, 201, i) for i in range(1, 21)]
    for i, sn in enumerate(hub_subnets):
        for h in range(1, 11):
            env.ec2(f"{sn}-{h}", sn, 201, i + 1, h)
    shared = env.bucket("probe-shared")
    data = env.bucket("probe-data")
    env.bucket("probe-logs")
    specs = [env.openapi(f"probe-{name}", shared) for name in ("orders", "users", "billing")]
    lambdas = []
    for i in range(1, 41):
        vpc = core if i <= 8 else (hub if i <= 30 else None)
        lambdas.append(
            env.lambda_(f"probe-fn-{i:02d}", vpc, specs[i % 3] if i % 4 == 0 else None, shared if i <= 30 else data)
        )
    for i in range(1, 31):
        env.lambda_(f"probe-hub-fn-{i:02d}", hub, None, data)
    dist = env.distribution("probe-www")
    zone = env.zone("probe", [dist])
    env.site("probe-www", dist, zone)
    for j, spec in enumerate(specs):
        env.api(spec, spec, lambdas[j * 5 : (j + 1) * 5], zone)
    cluster = env.ecs_cluster("probe-core", core)
    for i in range(1, 4):
        env.ecs_service(f"probe-core-{i}", cluster, core)
    hub_cluster = env.ecs_cluster("probe-hub", hub)
    for i in range(1, 21):
        env.ecs_service(f"probe-hub-{i:02d}", hub_cluster, hub)
    env.clickhouse("probe-core", core, data, cluster)
    env.cognito("probe-login")
    return env.items


BLAST_SIZES = (10, 100, 1_000, 10_000)


def blast_vpc(affected: int) -> str:
    return f"vpc/blast-{affected}"


def blast_environment(affected: int) -> list[dict]:
    """An environment whose VPC's impact is exactly `affected` components, for the blast-radius sweep:
    affected ÷ 10 subnets (at least one), the rest EC2 instances spread over them (two levels, as a real
    network is). Fixed shape and content: the same for every seed; loaded beside the world it measures."""
    env = _Env(f"bench-blast-{affected}", random.Random(f"karma-bench-blast-{affected}"), "200000000000", 210)
    core = env.vpc(f"blast-{affected}", 210, 3)
    subnets = max(1, affected // 10)
    names = [env.subnet(f"blast-{affected}-{i:04d}", core, 210, i) for i in range(subnets)]
    for h in range(affected - subnets):
        env.ec2(f"blast-{affected}-{h:05d}", names[h % subnets], 210, h % subnets, h // subnets)
    return env.items


# ----------------------------------------------------------------------------------- regular envs


def _regular(env: _Env, prefix: str, rng: random.Random, scale: float) -> None:
    def n(lo: int, hi: int) -> int:
        return max(lo, int(round(rng.randint(lo, hi) * scale)))

    vpcs, subnets = [], []
    for v in range(1, n(1, 3) + 1):
        vpc = env.vpc(f"{prefix}-net-{v}", env.net + v, rng.randint(2, 3))
        vpcs.append(vpc)
        for s in range(1, n(2, 6) + 1):
            subnets.append((env.subnet(f"{prefix}-net-{v}-{s}", vpc, env.net + v, s), env.net + v, s))
    for sn, octet, third in subnets:
        for h in range(1, min(int(rng.expovariate(1 / 4.0) * scale), 60) + 1):  # skewed: most small
            env.ec2(f"{sn}-{h}", sn, octet, third, h)
    buckets = [env.bucket(f"{prefix}-bucket-{b}") for b in range(1, n(2, 8) + 1)]
    popular = buckets[0]  # the environment's shared artifacts bucket
    specs = [env.openapi(f"{prefix}-spec-{s}", rng.choice((popular, *buckets))) for s in range(1, n(1, 4) + 1)]
    lambdas = []
    for i in range(1, n(3, 30) + 1):
        lambdas.append(
            env.lambda_(
                f"{prefix}-fn-{i}",
                rng.choice(vpcs) if rng.random() < 0.7 else None,
                rng.choice(specs) if rng.random() < 0.4 else None,
                (popular if rng.random() < 0.6 else rng.choice(buckets)) if rng.random() < 0.8 else None,
            )
        )
    dists = [env.distribution(f"{prefix}-site-{s}") for s in range(1, rng.randint(0, 4) + 1)]
    zone = env.zone(f"{prefix}-zone", dists) if dists or rng.random() < 0.5 else None
    for spec in specs:
        env.api(
            spec,
            spec,
            rng.sample(lambdas, k=min(len(lambdas), rng.randint(1, 5))),
            zone if zone and rng.random() < 0.5 else None,
        )
    if zone:
        for d in dists:
            env.site(d, d, zone)
    clusters = []
    for vpc in vpcs:
        for c in range(1, rng.randint(0, 2) + 1):
            cluster = env.ecs_cluster(f"{vpc}-ecs-{c}", vpc)
            clusters.append(cluster)
            for s in range(1, n(0, 6) + 1):
                env.ecs_service(f"{cluster}-svc-{s}", cluster, vpc)
    if rng.random() < 0.3:
        env.clickhouse(f"{prefix}-ch", vpcs[0], popular, clusters[0] if clusters else None)
    for c in range(1, rng.randint(0, 2) + 1):
        env.cognito(f"{prefix}-sso-{c}")


def _platform(env: _Env, prefix: str, rng: random.Random) -> None:
    """A big shared environment: one network and one artifacts bucket with hundreds of dependents."""
    _regular(env, prefix, rng, 1.0)
    hub = env.vpc(f"{prefix}-shared-net", env.net + 9, 3)
    subnets = [env.subnet(f"{prefix}-shared-net-{s}", hub, env.net + 9, s) for s in range(1, 31)]
    for s, sn in enumerate(subnets, start=1):
        for h in range(1, rng.randint(8, 20) + 1):
            env.ec2(f"{sn}-{h}", sn, env.net + 9, s, h)
    artifacts = env.bucket(f"{prefix}-artifacts")
    specs = [env.openapi(f"{prefix}-shared-spec-{s}", artifacts) for s in range(1, 11)]
    lambdas = [
        env.lambda_(
            f"{prefix}-shared-fn-{i}",
            hub if rng.random() < 0.8 else None,
            rng.choice(specs) if rng.random() < 0.3 else None,
            artifacts,
        )
        for i in range(1, 201)
    ]
    for spec in specs:
        env.api(spec, spec, rng.sample(lambdas, k=rng.randint(2, 8)), None)
    for c in range(1, 6):
        cluster = env.ecs_cluster(f"{prefix}-shared-ecs-{c}", hub)
        for s in range(1, 11):
            env.ecs_service(f"{cluster}-svc-{s}", cluster, hub)


def stream(seed: int = 42) -> Iterator[dict]:
    """The infinite component stream: the probe environment, then accounts and their environments."""
    yield from probe_environment()
    rng = random.Random(seed)
    index = 0
    for acct in itertools.count(1):
        account = f"{rng.randint(10**11, 10**12 - 1)}"
        stages = rng.choice((("dev", "prod"), ("dev", "staging", "prod"), ("prod",), ("dev", "staging", "prod")))
        for stage in stages:
            index += 1
            name = f"a{acct:04d}-{stage}"
            env_rng = random.Random(f"{seed}:{name}")
            env = _Env(name, env_rng, account, (index * 11) % 230)
            if index % PLATFORM_EVERY == PLATFORM_EVERY // 2:
                env.name = name = f"a{acct:04d}-platform"
                env.items = []
                _platform(env, name, env_rng)
            else:
                # prod is the biggest; a few environments are several times the usual size
                scale = {"dev": 0.6, "staging": 0.8, "prod": 1.2}[stage] * (3.0 if env_rng.random() < 0.05 else 1.0)
                _regular(env, name, env_rng, scale)
            yield from env.items


def generate(n: int, seed: int = 42) -> list[dict]:
    """The first `n` components of the stream (every reference resolves inside them)."""
    if n < len(probe_environment()):
        raise ValueError(f"a bench world needs at least {len(probe_environment())} components (the probe environment)")
    return list(itertools.islice(stream(seed), n))


def edges(components: list[dict]) -> list[dict]:
    """The stored edges the components' configs declare (as the seed loader derives them)."""
    return references.edges_within(components)[0]


def seed_document(components: list[dict]) -> dict:
    """A karma-seed/v1 document (what `karma seed FILE` reads)."""
    return {
        "format": "karma-seed/v1",
        "components": [{k: c[k] for k in ("id", "environment", "config", "runtime")} for c in components],
    }


def stats(components: list[dict]) -> dict:
    """Sizes and shape: counts by type, environments, edges, fan-in of the most popular components."""
    edge_list = edges(components)
    fan_in = Counter(e["target"] for e in edge_list)
    return {
        "components": len(components),
        "edges": len(edge_list),
        "environments": len({c["environment"] for c in components}),
        "by_type": dict(sorted(Counter(c["type"] for c in components).items())),
        "edges_by_kind": dict(sorted(Counter(e["kind"] for e in edge_list).items())),
        "most_popular": [{"id": cid, "dependents": k} for cid, k in fan_in.most_common(5)],
    }
