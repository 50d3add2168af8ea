"""``python -m karma_tools.rulecorpus [--examples N]``: the long differential run (make rules-corpus)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from karma_tools.rulecorpus.corpus import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2000, help="generated rule files per corpus")
    args = parser.parse_args()
    logging.getLogger("karma.policy").setLevel(logging.ERROR)
    tally = run(args.examples)
    print(json.dumps(tally.to_dict(), indent=2))
    for d in tally.disagreements[:20]:
        print(d, file=sys.stderr)
    return 1 if tally.disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
