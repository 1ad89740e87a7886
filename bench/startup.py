"""What one `pmbot ask` costs from a cold process: wall time and peak memory, cold and warm index cache.

    python bench/startup.py [--runs 5] [--knowledge DIR] [--warm-only]

"cold" builds the index (an empty cache folder); "warm" reads it back, as every start after the
first does while the knowledge is unchanged; "upgrade" is the first start of other matching code (a
copy of bot/ with a comment added) on the warm cache, which trains both classifiers again from the
entries the code before left there; "image" is a new container's first start: an empty cache of its
own, and the warm one read-only (PMBOT_READONLY_CACHE_DIR), as the Dockerfile's `pmbot warm-cache`
leaves it. Goal (issue 12): warm ≤ 1.0 s wall (best of 5), ≤ 300 MB.
CPU time is shown too: on a busy machine, wall time mostly measures the wait for a core.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "what does a product manager do all day?"


def ask(cache: Path, knowledge: Path, code: Path = ROOT, read_only: Path | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak MB) of one `python -m bot ask` process running the bot package in `code`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMBOT_")}
    env |= {"PMBOT_CACHE_DIR": str(cache), "PMBOT_KNOWLEDGE": str(knowledge), "PYTHONPATH": str(code)}
    if read_only is not None:
        env["PMBOT_READONLY_CACHE_DIR"] = str(read_only)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bot", "ask", QUESTION], env=env, cwd=code, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"pmbot ask failed with exit code {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold runs (each embeds every phrasing: ~1 min CPU)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pmbot-cache-") as cache:
        cold = [] if args.warm_only else [ask(Path(cache) / f"cold-{n}", args.knowledge) for n in range(args.runs)]
        warm = [ask(Path(cache) / "warm", args.knowledge) for _ in range(args.runs + 1)][1:]  # the first fills it
        image = [ask(Path(cache) / f"image-{n}", args.knowledge, read_only=Path(cache) / "warm") for n in range(args.runs)]
        upgraded = Path(cache) / "upgraded"
        shutil.copytree(ROOT / "bot", upgraded / "bot", ignore=shutil.ignore_patterns("__pycache__"))
        upgrade = []
        for n in range(args.runs):
            with (upgraded / "bot" / "matching" / "explain.py").open("a", encoding="utf-8") as code:
                code.write(f"# upgrade {n}\n")  # another hash of the matching code: its own cache entries
            upgrade.append(ask(Path(cache) / "warm", args.knowledge, upgraded))
    for name, runs in (("cold", cold), ("warm", warm), ("image", image), ("upgrade", upgrade)):
        if not runs:
            continue
        walls = sorted(wall for wall, _, _ in runs)
        print(f"{name}: best {walls[0]:.2f} s, median {walls[len(walls) // 2]:.2f} s wall; "
              f"best {min(cpu for _, cpu, _ in runs):.2f} s CPU; peak {max(peak for _, _, peak in runs):.0f} MB  ({len(runs)} runs)")
    best, peak = min(wall for wall, _, _ in warm), max(peak for _, _, peak in warm)
    print("goal (warm ≤ 1.0 s, ≤ 300 MB):", "met" if best <= 1.0 and peak <= 300 else "missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
