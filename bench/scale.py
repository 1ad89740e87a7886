"""How building and matching scale: the bundled knowledge cloned to N times its size (bench/synthetic.py).

    python bench/scale.py [--phrasings 28000 100000 | --times 1 10] [--model] [--json]

Sizes are given in phrasings, as the goals are (the nearest whole number of clones; the bundled
knowledge has about 3,900 phrasings), or as clone counts with --times. For each size, a fresh
process loads the knowledge and builds the matcher without the index cache (the build a changed
knowledge costs), then matches every question of bench/eval/ once.
Reported: phrasings, build time (wall, and CPU: on a busy machine the fairer measure), the
process's peak memory, and matching latency p50/p99 (p99 also as CPU time, for the same reason).
Goals (issue 12), judged on CPU time: 28k phrasings built in ≤ 30 s with p99 ≤ 5 ms; 100k
phrasings in ≤ 2 min and ≤ 2 GB.

The matcher is measured by words alone, the part whose cost grows with the knowledge, unless
--model: then the embedding model is loaded too, which embeds every phrasing at build (many
minutes at 10×) and adds to every question its embedding (5–30 ms, whatever the knowledge's
size) and a scan of the phrasings' vectors (about 1 ms per 5,000 of them).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import generate  # noqa: E402

QUESTIONS = sorted(path for path in (ROOT / "bench" / "eval").glob("*.yaml") if "heldout" not in path.name)
GOALS = {  # phrasings: (build seconds, p99 ms, peak MB); a size is judged by the goal within 10% of it
    28_000: (30.0, 5.0, None),
    100_000: (120.0, None, 2048.0),
}


def measure(knowledge: Path, model: bool) -> dict[str, float]:
    """Runs in the child process: one build, then every question once."""
    from bot.evaluation import load_questions, percentile
    from bot.knowledge import load_knowledge
    from bot.matching import Matcher

    start, cpu = time.perf_counter(), time.process_time()
    kb = load_knowledge(knowledge)
    loaded = time.perf_counter()
    matcher = Matcher(kb) if model else Matcher(kb, embedder=None)
    built = time.perf_counter()
    build_cpu = time.process_time() - cpu
    latencies, cpu_costs = [], []
    for question in (q for path in QUESTIONS for q in load_questions(path)):
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        matcher.match(question.q)
        latencies.append((time.perf_counter() - begin) * 1000)
        cpu_costs.append((time.thread_time() - begin_cpu) * 1000)
    return {
        "intents": len(kb.intents),
        "phrasings": sum(len(i.phrasings) for i in kb.intents.values()),
        "load_s": round(loaded - start, 2),
        "index_s": round(built - loaded, 2),
        "build_s": round(built - start, 2),
        "build_cpu_s": round(build_cpu, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "questions": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "p99_cpu_ms": round(percentile(cpu_costs, 99), 3),
    }


def verdict(row: dict[str, float]) -> str:
    goal = next((size for size in GOALS if abs(row["phrasings"] - size) <= size * 0.1), None)
    if goal is None:
        return "no goal at this size"
    build, p99, peak = GOALS[goal]
    misses = []
    if row["build_cpu_s"] > build:
        misses.append(f"build > {build:g} s CPU")
    if p99 is not None and row["p99_cpu_ms"] > p99:
        misses.append(f"p99 > {p99:g} ms CPU")
    if peak is not None and row["peak_mb"] > peak:
        misses.append(f"peak > {peak:g} MB")
    return "missed: " + ", ".join(misses) if misses else "ok"


def clone_counts(phrasings: list[int]) -> list[int]:
    """How many clones of the bundled knowledge come nearest to each size."""
    from bot.knowledge import load_knowledge

    base = sum(len(intent.phrasings) for intent in load_knowledge(ROOT / "knowledge").intents.values())
    return [max(1, round(size / base)) for size in phrasings]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--phrasings", type=int, nargs="+", default=list(GOALS), help="sizes in phrasings (default: the goals')")
    sizes.add_argument("--times", type=int, nargs="+", help="sizes as clone counts of the bundled knowledge")
    parser.add_argument("--model", action="store_true", help="load the embedding model too (slow: see above)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.model)))
        return 0
    rows = []
    for times in args.times or clone_counts(args.phrasings):
        with tempfile.TemporaryDirectory(prefix="pmbot-scale-") as folder:
            knowledge = generate(times, Path(folder) / "knowledge")
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(knowledge), *(["--model"] if args.model else [])],
                capture_output=True, text=True, check=True,
            )
        row = {"times": times, "model": args.model, **json.loads(done.stdout)}
        row["verdict"] = verdict(row)
        rows.append(row)
        if not args.json:
            print(
                f"{times:>3}x  {row['intents']:>5} intents {row['phrasings']:>7} phrasings  build {row['build_s']:>6.1f} s "
                f"(load {row['load_s']:.1f}, index {row['index_s']:.1f}; CPU {row['build_cpu_s']:.1f} s)  peak {row['peak_mb']:>5.0f} MB  "
                f"match p50 {row['p50_ms']:.2f} ms p99 {row['p99_ms']:.2f} ms (CPU {row['p99_cpu_ms']:.2f})  {row['verdict']}",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
