"""durable_rules' "error code: 102", reproduced deterministically and shown to be avoided.

durable_rules 2.0.28 checks the right operand type of the last node of an item test (``$iany``/``$iall``),
and an ``$or`` ends in a node whose operand it never writes: the check reads a byte of the node pool as
``realloc`` left it. A tiny ``LD_PRELOAD`` shim fills every grown block with a chosen byte, so the byte
the engine reads is known: 0x09 (identifier) or 0x0C (expression) refuse the ruleset every time, where
the normal heap refuses it now and then (docs/rules.md, "durable_rules error 102").
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from app.policy import compiler, loader
from app.settings import REPO_ROOT

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
void *realloc(void *p, size_t n) {
    static void *(*real_malloc)(size_t);
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    const char *f = getenv("FILL_BYTE");
    void *q = real_malloc(n);
    if (!q) return q;
    memset(q, f ? atoi(f) : 0, n);
    if (p) {
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}
"""

PROBE = textwrap.dedent(
    """
    import json, sys
    import durable_rules_engine
    from app.policy.engine import PolicyEngine

    def refused(test):
        try:
            durable_rules_engine.create_ruleset("probe", json.dumps({"r": {"all": [{"m": {"$and": [{"k": "x"}, test]}}]}}))
            return None
        except Exception as exc:
            return str(exc)

    shipped = PolicyEngine(sys.argv[2])
    shipped.load()
    print(json.dumps({"raw": refused(json.loads(sys.argv[1])), "shipped_rules": shipped.rule_count}))
    """
)

RAW_OR = {"$iany": {"l": {"$or": [{"$i": "s:a"}, {"$i": "s:b"}]}}}


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a C compiler and glibc (LD_PRELOAD)")
    out = tmp_path_factory.mktemp("shim")
    (out / "fill.c").write_text(SHIM)
    subprocess.run([cc, "-shared", "-fPIC", "-o", out / "fill.so", out / "fill.c", "-ldl"], check=True)
    return out / "fill.so"


@pytest.mark.parametrize("byte", [9, 12])
def test_an_or_inside_an_item_test_is_refused_by_the_heap_but_the_compiled_rules_never_are(shim, byte):
    env = {"LD_PRELOAD": str(shim), "FILL_BYTE": str(byte), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(RAW_OR), str(REPO_ROOT / "rules")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["raw"] == "Could not create ruleset, error code: 102"  # the engine's own defect, on demand
    assert result["shipped_rules"] > 0  # the shipped rules use contains_any: compiled around it


def _item_tests(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$iany", "$iall"):
                yield from value.values()
            yield from _item_tests(value)
    elif isinstance(node, list):
        for item in node:
            yield from _item_tests(item)


def test_no_item_test_ends_in_an_or(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n"
        "  - id: any-of\n    effect: warn\n    description: d\n    message: m\n"
        "    when:\n"
        "      change: {changed_keys: {contains_any: [a, b, c]}}\n"
        "      not: {change: {removed_keys: {contains_any: [x, y]}}}\n"
    )
    definitions = [loader.build(tmp_path).definition, loader.build(REPO_ROOT / "rules").definition]
    inner = [t for d in definitions for t in _item_tests(d)]
    assert any("$and" in t and t["$and"][-1] == compiler.ITEM_TRAILER for t in inner)
    for test in inner:
        last = test["$and"][-1] if "$and" in test else test
        assert "$or" not in last, test
