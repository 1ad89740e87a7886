"""Latency of the interactive paths that are not question matching, in one run.

    python bench/operations.py [--knowledge DIR] [--json]

- /ask autocomplete: Discord drops an autocomplete answer after 3 seconds and people type
  fast, so each keystroke should cost a few milliseconds (goal: p99 under 50 ms).
- /kb gaps clustering: a busy server can log thousands of unanswered questions between two
  looks; grouping 5,000 of them (the hard case: typos and word salad) should take seconds at most
  (goal: under 10 s on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.discord.search import IntentSearch  # noqa: E402
from bot.evaluation import percentile  # noqa: E402
from bot.gaps import cluster_questions  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402

AUTOCOMPLETE_GOAL_P99_MS = 50.0
CLUSTERING_GOAL_S = 10.0


def keystrokes(phrasings: list[str], rng: random.Random) -> list[str]:
    """Every prefix of 200 phrasings, as Discord sends them while someone types, plus odd input."""
    typed = [text[:end] for text in rng.sample(phrasings, min(200, len(phrasings))) for end in range(1, len(text) + 1)]
    return typed + ["", "x" * 5000, "😀" * 50, "**bold** `code` <@123>"]


def gap_texts(phrasings: list[str], rng: random.Random) -> list[str]:
    """3,000 typo'd repeats of 100 questions and 2,000 word salads of their words (nearly all new leaders)."""
    asked = rng.sample(phrasings, min(100, len(phrasings)))

    def typo(text: str) -> str:
        chars = list(text)
        i = rng.randrange(len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)

    vocabulary = " ".join(asked).split()
    repeats = [typo(rng.choice(asked)) for _ in range(3000)]
    salad = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(4, 12))) for _ in range(2000)]
    return repeats + salad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)

    kb = load_knowledge(args.knowledge)
    started = time.perf_counter()
    search = IntentSearch.build(kb)
    build_ms = (time.perf_counter() - started) * 1000
    phrasings = [p for i in kb.intents.values() for p in i.phrasings]
    latencies = []
    for typed in keystrokes(phrasings, rng):
        started = time.perf_counter()
        search.titles(search.suggest(typed))
        latencies.append((time.perf_counter() - started) * 1000)

    texts = gap_texts(phrasings, rng)
    started = time.perf_counter()
    gaps = cluster_questions(texts)
    clustering_s = time.perf_counter() - started

    report = {
        "autocomplete": {
            "keystrokes": len(latencies),
            "index_build_ms": round(build_ms, 2),
            "p50_ms": round(percentile(latencies, 50), 3),
            "p99_ms": round(percentile(latencies, 99), 3),
            "goal_p99_ms": AUTOCOMPLETE_GOAL_P99_MS,
        },
        "gap_clustering": {
            "texts": len(texts),
            "gaps": len(gaps),
            "seconds": round(clustering_s, 2),
            "goal_seconds": CLUSTERING_GOAL_S,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        a, g = report["autocomplete"], report["gap_clustering"]
        print(f"autocomplete  {a['keystrokes']} keystrokes  p50 {a['p50_ms']:.2f} ms  p99 {a['p99_ms']:.2f} ms"
              f"  (goal p99 < {AUTOCOMPLETE_GOAL_P99_MS:.0f} ms; index built in {a['index_build_ms']:.1f} ms)")
        print(f"gap clusters  {g['texts']} texts → {g['gaps']} gaps in {g['seconds']:.2f} s"
              f"  (goal < {CLUSTERING_GOAL_S:.0f} s)")
    met = report["autocomplete"]["p99_ms"] < AUTOCOMPLETE_GOAL_P99_MS and clustering_s < CLUSTERING_GOAL_S
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
