#!/usr/bin/env python3
"""The most any early-stop rule could save over natural thinking (issue 17, probe stop).

Input: the records of a budget sweep over one dataset, natural stop included, e.g.
  s1 eval --dataset eval-d3.jsonl --think-max 0,16,32,...,320,none --out sweep
  bench/probe_headroom.py sweep/records.jsonl

A stop rule such as `--think-stop probe:K:16` ends the thinking at one of the points
a budget sweep cuts at, and its answer there is the cut run's answer. An oracle that
knew, for each problem, the earliest cut whose answer is right (and otherwise let the
thinking end naturally) would be the best such rule, with its probes for free. This
prints its accuracy and total tokens (thinking + answer) against the natural stop's.
"""
import argparse
import collections
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records")
    args = parser.parse_args()

    natural, cuts = {}, collections.defaultdict(dict)
    for line in open(args.records):
        r = json.loads(line)
        budget = r["setting"].get("think_max")
        if budget is None:
            natural[r["problem_id"]] = r
        else:
            cuts[r["problem_id"]][budget] = r
    if not natural:
        raise SystemExit(f"{args.records}: no natural-stop run (add 'none' to --think-max)")

    def total(r):
        return r["thinking_tokens"] + r["answer_tokens"]

    natural_tokens = oracle_tokens = natural_right = oracle_right = 0
    for problem, nat in natural.items():
        earliest = next((cuts[problem][b] for b in sorted(cuts[problem])
                         if b < nat["thinking_tokens"] and cuts[problem][b]["verdict"] == "correct"), None)
        chosen = earliest or nat
        natural_tokens += total(nat)
        oracle_tokens += total(chosen)
        natural_right += nat["verdict"] == "correct"
        oracle_right += chosen["verdict"] == "correct"
    n = len(natural)
    print(f"{n} problems, cuts at {sorted({b for c in cuts.values() for b in c})}")
    print(f"natural stop: accuracy {100 * natural_right / n:.1f} %, {natural_tokens / n:.1f} total tokens")
    print(f"oracle stop:  accuracy {100 * oracle_right / n:.1f} %, {oracle_tokens / n:.1f} total tokens "
          f"({100 * (oracle_tokens / natural_tokens - 1):+.1f} %)")


if __name__ == "__main__":
    main()
