"""The matcher on messages built to be slow: the longest message Discord allows, one pattern repeated.

    python bench/worst_case_messages.py [--knowledge DIR] [--json]

Anyone in a help channel can post 4,000 characters, and every message there is matched. The text
passes through a few dozen regular expressions (normalise.py, question_finder.py) before the model
reads its last 80 tokens, and one of them that backtracks turns a message into a second of CPU:
one 4,000-letter word took a second until 6 December 2026 (a stretched-word pattern), a wall of "["
a tenth. Each message below repeats one unit that some pattern treats specially; one more is made of
random six-letter words, each of which typo correction looks up. The goal is a bound on the worst, well
above an ordinary long message's 30 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.matching.cache import IndexCache  # noqa: E402
from bot.matching.normalise import MAX_MESSAGE_CHARS  # noqa: E402

GOAL_MS = 200.0  # CPU per message, the model's run included
UNITS = [
    "pmpm", "heyyy ", "aaab", "a\n", "?\n", "? ", ". ", "e.g. ", "P.M. ", "a.", "- ", ": ", "x: what ", "“", "“what ",
    '"', "(", "[", "[a](https://", "](", "<a", "<@", "@a", "*_", "```", "||", "> ", "\n> ", "o/ ", "3pm ", "pm me ",
    "pm ", "b/w ", "->", "= ", "what? ", "what is ", "thanks ", "project manager ", "😀",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    matcher = Matcher(load_knowledge(args.knowledge), cache=IndexCache(load_settings(dotenv=None).cache_dir))
    matcher.match("what does a product manager do all day, xyzzy?")  # loads what the first unknown word needs
    rng = random.Random(0)
    messages = {repr(unit): (unit * (MAX_MESSAGE_CHARS // len(unit) + 1))[:MAX_MESSAGE_CHARS] for unit in UNITS}
    messages["random words"] = " ".join("".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(571))[:MAX_MESSAGE_CHARS]
    cpu_ms = {}
    for name, message in messages.items():
        start = time.process_time()
        matcher.match(message)
        cpu_ms[name] = (time.process_time() - start) * 1000
    worst = max(cpu_ms, key=cpu_ms.__getitem__)
    met = cpu_ms[worst] <= GOAL_MS
    if args.json:
        print(json.dumps({"goal_ms": GOAL_MS, "met": met, "cpu_ms": cpu_ms}, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(messages)} messages of {MAX_MESSAGE_CHARS} characters; CPU ms, slowest first")
    for name in sorted(cpu_ms, key=cpu_ms.__getitem__, reverse=True)[:10]:
        print(f"  {cpu_ms[name]:7.1f}  {name}")
    print(f"goal: every message ≤ {GOAL_MS:g} ms CPU: {'met' if met else 'MISSED'} (slowest {worst}, {cpu_ms[worst]:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
