"""The bench sizes its own Neo4j for what the run does: the drift step imports 100,000 configs as one
transaction (issue 22), which needs more than the default 1 GiB of transaction memory."""

from __future__ import annotations

from karma_tools.bench.harness import BenchConfig


def test_a_run_importing_100k_configs_gets_the_transaction_memory_for_it():
    cfg = BenchConfig(sizes=(1_000, 10_000, 100_000))
    assert (cfg.heap, cfg.tx_memory) == ("6g", "4g")


def test_runs_without_the_100k_import_keep_the_small_server():
    assert (BenchConfig(sizes=(1_000, 10_000)).heap, BenchConfig(sizes=(1_000, 10_000)).tx_memory) == ("3g", "1g")
    cfg = BenchConfig(sizes=(1_000, 100_000), only=("latency", "blast"))
    assert (cfg.heap, cfg.tx_memory) == ("3g", "1g")


def test_a_million_component_world_keeps_its_larger_heap():
    cfg = BenchConfig(sizes=(1_000, 1_000_000))
    assert (cfg.heap, cfg.pagecache, cfg.tx_memory) == ("8g", "6g", "4g")
