"""Matcher benchmark: pmbot's matcher, the same matcher by words alone, and a plain rapidfuzz baseline; one run.

    python bench/matching.py [EVAL.yaml ...] [--knowledge DIR] [--json]

Default questions: every set in bench/eval/ but tuning.yaml, and the shared sets in ../shared/eval/
when they are beside the checkout. Per set, three matchers on the same questions:
- pmbot: words and the sentence embedding, blended by the fitted decision rule (bot/matching/decision.py);
- words only: the same matcher with the embedding model off (what a bot whose model cannot load does);
- WRatio: what a first attempt would do, rapidfuzz's WRatio with its default processing over the same
  phrasings, answering when the best score reaches a threshold; the threshold is the one that makes
  it most accurate on all these very questions together, which flatters it.
Latency is per question, on one CPU thread for the model: wall time, and CPU time (the fairer measure
on a busy machine). The goal (issue 9) is pmbot's p99 at most GOAL_P99_MS on every set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import LabelledQuestion, evaluate, load_questions, percentile  # noqa: E402
from bot.knowledge import KnowledgeBase, load_knowledge  # noqa: E402
from bot.matching import Matcher, MatchResult  # noqa: E402

GOAL_P99_MS = 30.0  # per question, pmbot with its model on one thread
SHARED = next((p / "shared" / "eval" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "eval").is_dir()), None)
DEFAULT_SETS = sorted(path for path in (ROOT / "bench" / "eval").glob("*.yaml") if path.name != "tuning.yaml") + (
    sorted(SHARED.glob("*.yaml")) if SHARED else []
)


def wratio_picks(kb: KnowledgeBase, questions: list[LabelledQuestion]) -> list[tuple[str, float, float]]:
    """Per question: the baseline's intent, its score and the milliseconds it took."""
    choices, owners = [], []
    for intent in kb.intents.values():
        for phrasing in intent.phrasings:
            choices.append(phrasing)
            owners.append(intent.id)
    picks = []
    for item in questions:
        start = time.perf_counter()
        _, score, index = process.extractOne(item.q, choices, scorer=fuzz.WRatio, processor=utils.default_process)
        picks.append((owners[index], score, (time.perf_counter() - start) * 1000))
    return picks


def wratio_outcome(questions: list[LabelledQuestion], picks: list[tuple[str, float, float]], threshold: float) -> dict:
    in_scope = [(q, p) for q, p in zip(questions, picks) if q.expect is not None]
    oos = [p for q, p in zip(questions, picks) if q.expect is None]
    right = sum(1 for q, (i, s, _) in in_scope if s >= threshold and i == q.expect)
    wrong = sum(1 for q, (i, s, _) in in_scope if s >= threshold and i != q.expect)
    false = sum(1 for _, s, _ in oos if s >= threshold)
    latencies = [ms for _, _, ms in picks]
    return {
        "threshold": threshold,
        "top1": right / len(in_scope) if in_scope else 0.0,
        "wrong_answer": wrong / len(in_scope) if in_scope else 0.0,
        "oos_false_answer": false / len(oos) if oos else 0.0,
        "correct_share": (right + len(oos) - false) / len(questions),
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
    }


def timed(matcher: Matcher, cpu_ms: list[float]) -> Callable[[str], MatchResult]:
    """The matcher's match, noting each call's CPU time (the thread's: the model runs on this one)."""

    def match(question: str) -> MatchResult:
        start = time.thread_time()
        result = matcher.match(question)
        cpu_ms.append((time.thread_time() - start) * 1000)
        return result

    return match


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    kb = load_knowledge(args.knowledge)
    sets = {}
    for path in args.files:
        questions = load_questions(path)
        if unknown := {q.expect for q in questions if q.expect is not None} - set(kb.intents):
            print(f"skipping {path.name}: it expects intents this knowledge lacks ({', '.join(sorted(unknown)[:3])}…)", file=sys.stderr)
            continue
        sets[path.name] = questions
    everything = [q for qs in sets.values() for q in qs]
    matchers = {"pmbot": Matcher(kb), "words only": Matcher(kb, embedder=None)}
    if matchers["pmbot"].embedder is None:
        print("warning: the embedding model did not load; `pmbot` is words only too (run `make install`)", file=sys.stderr)
    picks = wratio_picks(kb, everything)
    threshold = max(range(0, 101), key=lambda t: wratio_outcome(everything, picks, float(t))["correct_share"])
    report: dict[str, dict[str, dict]] = {}
    offset = 0
    for name, questions in sets.items():
        report[name] = {}
        for label, matcher in matchers.items():
            cpu_ms: list[float] = []
            row = evaluate(questions, timed(matcher, cpu_ms)).as_dict()
            row.pop("misses")
            cpu_ms = cpu_ms[1:]  # evaluate's warm-up call
            row["cpu_ms"] = {"p50": percentile(cpu_ms, 50), "p99": percentile(cpu_ms, 99)}
            report[name][label] = row
        report[name][f"WRatio ≥{threshold}"] = wratio_outcome(questions, picks[offset : offset + len(questions)], float(threshold))
        offset += len(questions)
    worst = max(report, key=lambda name: report[name]["pmbot"]["cpu_ms"]["p99"]) if report else None
    goal = {"p99_cpu_ms": GOAL_P99_MS, "worst_set": worst, "met": worst is None or report[worst]["pmbot"]["cpu_ms"]["p99"] <= GOAL_P99_MS}
    if args.json:
        print(json.dumps({"questions": len(everything), "goal": goal, "sets": report}, indent=2))
        return 0
    print(f"{len(everything)} questions from {len(sets)} sets; right/wrong of in-scope questions, off-topic answered")
    print(f"{'set':24} {'matcher':12} {'right':>6} {'wrong':>6} {'off-top':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99 CPU':>7}")
    for name, rows in report.items():
        for label, row in rows.items():
            cpu = f"{row['cpu_ms']['p99']:7.2f}" if "cpu_ms" in row else ""
            print(
                f"{name:24} {label:12} {row['top1']:6.3f} {row['wrong_answer']:6.3f} {row['oos_false_answer']:7.3f} "
                f"{row['latency_ms']['p50']:7.2f} {row['latency_ms']['p99']:7.2f} {cpu}"
            )
    if worst is not None:
        p99 = report[worst]["pmbot"]["cpu_ms"]["p99"]
        print(f"goal: pmbot p99 ≤ {GOAL_P99_MS:g} ms CPU per question on every set: {'met' if goal['met'] else 'MISSED'} "
              f"(worst {worst}: {p99:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
