"""Policy rules: YAML rule files -> strict validation -> durable_rules -> decisions.

The rest of Karma uses only this surface::

    from app.policy import PolicyEngine, Decision, RuleFileError
    engine = PolicyEngine(rules_dir); engine.load(); engine.evaluate(facts) -> list[Decision]

See docs/rules.md for the rule language.
"""

from app.policy.engine import Decision, PolicyEngine
from app.policy.loader import validate_dir
from app.policy.language import PolicyEvaluationError, RuleFileError


def __getattr__(name):  # the click group is imported lazily so the service does not need click wired in
    if name == "rules_cli":
        from app.policy.cli import rules_cli  # noqa: PLC0415

        return rules_cli
    raise AttributeError(name)


__all__ = ["Decision", "PolicyEngine", "PolicyEvaluationError", "RuleFileError", "validate_dir", "rules_cli"]
