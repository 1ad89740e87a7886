"""Matcher benchmark: pmbot's matcher beside a plain rapidfuzz baseline, same questions, one run.

    python bench/matching.py [EVAL.yaml ...] [--knowledge DIR] [--json]

Default questions: every set in bench/eval/ but tuning.yaml. The baseline is
what a first attempt would do: rapidfuzz's WRatio with its default processing over the same
phrasings, answering when the best score reaches a threshold; the threshold reported is the one that
makes the baseline most accurate on these very questions, which flatters it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import LabelledQuestion, evaluate, load_questions, percentile  # noqa: E402
from bot.knowledge import KnowledgeBase, load_knowledge  # noqa: E402
from bot.matching import Matcher  # noqa: E402

DEFAULT_SETS = sorted(path for path in (ROOT / "bench" / "eval").glob("*.yaml") if path.name != "tuning.yaml")


def baseline(kb: KnowledgeBase, questions: list[LabelledQuestion]) -> dict[str, float]:
    choices, owners = [], []
    for intent in kb.intents.values():
        for phrasing in intent.phrasings:
            choices.append(phrasing)
            owners.append(intent.id)
    picks, latencies = [], []
    for item in questions:
        start = time.perf_counter()
        _, score, index = process.extractOne(item.q, choices, scorer=fuzz.WRatio, processor=utils.default_process)
        latencies.append((time.perf_counter() - start) * 1000)
        picks.append((owners[index], score))

    def outcome(threshold: float) -> dict[str, float]:
        in_scope = [(q, p) for q, p in zip(questions, picks) if q.expect is not None]
        oos = [(q, p) for q, p in zip(questions, picks) if q.expect is None]
        right = sum(1 for q, (i, s) in in_scope if s >= threshold and i == q.expect)
        wrong = sum(1 for q, (i, s) in in_scope if s >= threshold and i != q.expect)
        false = sum(1 for _, (_, s) in oos if s >= threshold)
        return {
            "threshold": threshold,
            "top1": right / len(in_scope) if in_scope else 0.0,
            "wrong_answer": wrong / len(in_scope) if in_scope else 0.0,
            "oos_false_answer": false / len(oos) if oos else 0.0,
            "correct_share": (right + len(oos) - false) / len(questions),
        }

    best = max((outcome(float(t)) for t in range(0, 101)), key=lambda o: o["correct_share"])
    best["latency_ms"] = {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    kb = load_knowledge(args.knowledge)
    questions = [q for path in args.files for q in load_questions(path)]
    matcher = Matcher(kb)
    for item in questions[:50]:  # warm caches, as a running bot would be
        matcher.match(item.q)
    ours = evaluate(questions, matcher).as_dict()
    ours.pop("misses")
    theirs = baseline(kb, questions)
    if args.json:
        print(json.dumps({"questions": len(questions), "pmbot": ours, "baseline_wratio": theirs}, indent=2))
        return 0
    print(f"{len(questions)} questions from {', '.join(p.name for p in args.files)}")
    print(f"{'':28} {'top1':>6} {'wrong':>6} {'oos_false':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for name, row in (("pmbot matcher", ours), (f"WRatio baseline (≥{theirs['threshold']:.0f})", theirs)):
        print(
            f"{name:28} {row['top1']:6.3f} {row['wrong_answer']:6.3f} {row['oos_false_answer']:9.3f} "
            f"{row['latency_ms']['p50']:7.3f} {row['latency_ms']['p99']:7.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
