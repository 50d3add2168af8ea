"""The console's rules pages: the loaded policy rules, and one page per rule with its YAML as written and
the rule tests that make it fire. Read-only: the rules change in their files (and `karma rules reload`).

They read the same PolicyEngine the API's GET /admin/rules reads (the active rule set: after a broken
edit, the last good one), list each rule as `karma rules list` does (Rule.summary, listing_order), and
take the rule tests from the CoverageService of GET /rules/coverage (run once per rule set).
"""

from __future__ import annotations

from flask import render_template

from app.api.context import services
from app.console.pages import blp
from app.errors import NotFound
from app.policy.effects import listing_order


@blp.route("/rules")
def rules():
    """Every active rule, most severe first; rule ids on the other pages link to the rule's page."""
    policy = services().policy
    policy.maybe_reload()  # as GET /admin/rules: what decides the next plan, not what decided the last one
    listed = sorted(policy.rules(), key=listing_order)
    return render_template("console/rules.html", rules=[r.summary() for r in listed], status=policy.status())


@blp.route("/rules/<rule_id>")
def rule(rule_id):
    """One rule: what the listing says of it, its approver, its YAML as its file said it when loaded, and
    the rule tests that make it fire. An id no active rule has (a typo; a rule removed or disabled since a
    decision named it) is the console's 404 page, saying which."""
    policy = services().policy
    policy.maybe_reload()
    found = policy.rule(rule_id)
    if found is None:
        disabled = rule_id in policy.status()["disabled"]
        raise NotFound(
            f"rule {rule_id!r} is disabled (enabled: false in its file)"
            if disabled
            else f"no rule {rule_id!r} in the active rule set (removed or renamed since, or a typo)"
        )
    written = policy.rule_source(found)
    firing, case_errors = services().coverage.cases_firing(rule_id)
    return render_template(
        "console/rule.html",
        rule=found.summary(),
        approver_role=found.approver_role,
        source=written[1] if written else None,
        line=written[0] if written else None,
        firing=firing,
        case_errors=case_errors,
        status=policy.status(),
    )
