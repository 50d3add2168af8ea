"""Run the differential corpus for a number of examples: ``python -m karma_tools.rulecorpus`` (make
rules-corpus), the bench (karma_tools/bench/rules.py) and the bounded test in ``make test`` use it."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karma_tools.rulecorpus import strategies
from karma_tools.rulecorpus.run import Tally, check


# request times: the service's own clock, never year 1 (a zone west of UTC would leave the calendar)
TIMES = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(timezone.utc))


def run(examples: int, *, derandomize: bool = False, tally: Tally | None = None) -> Tally:
    """``examples`` generated rule files with their facts (general corpus) plus as many pattern files."""
    tally = tally or Tally()
    options = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    )

    @options
    @given(
        strategies.rule_files(),
        st.lists(strategies.facts(), min_size=1, max_size=6),
        TIMES,
    )
    def general(rules, fact_sets, now):
        check(rules, fact_sets, now, tally)

    @options
    @given(strategies.pattern_files(), TIMES)
    def patterns(case, now):
        check(case[0], case[1], now, tally)

    general()
    patterns()
    return tally
