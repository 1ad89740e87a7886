"""What a teach costs the process that serves: the matcher rebuilt on the knowledge with one phrasing more.

    python bench/teach.py [--runs 3] [--knowledge DIR]

"from the served" is what the bot does: its word and meaning classifiers start training from the weights
of the knowledge it serves (bot/matching/classifier.py, meaning.py). "from nothing" is a process that
served nothing before, as a first start on that knowledge. The phrasings' embeddings are cached in both,
as they are in the bot, so the figures are the two trainings and the words index. CPU seconds, best of
the runs: on a busy machine, wall time mostly measures the wait for a core.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import load_knowledge  # noqa: E402 (after the checkout is on the path)
from bot.matching import Matcher  # noqa: E402
from bot.matching import index as index_module  # noqa: E402
from bot.matching import meaning as meaning_module  # noqa: E402
from bot.matching.cache import IndexCache  # noqa: E402

TAUGHT = "so what is it that the product person owns from one day to the next"


def rebuild(taught: Path, cache: Path) -> float:
    """CPU seconds for a Matcher on `taught` whose words index and meaning classifier are not in the cache."""
    for kind in (index_module.CACHE_KIND, meaning_module.CACHE_KIND):
        shutil.rmtree(cache / kind, ignore_errors=True)
    kb = load_knowledge(taught)
    start = time.process_time()
    Matcher(kb, cache=IndexCache(cache))
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pmbot-teach-") as folder:
        served, taught = Path(folder) / "served", Path(folder) / "taught"
        shutil.copytree(args.knowledge, served)
        shutil.copytree(args.knowledge, taught)
        file = taught / "basics.yaml"
        text = file.read_text(encoding="utf-8")
        file.write_text(text.replace("    phrasings:\n", f"    phrasings:\n      - {TAUGHT}\n", 1), encoding="utf-8")
        cache = Path(folder) / "cache"
        Matcher(load_knowledge(taught), cache=IndexCache(cache))  # embeds every phrasing once, the taught one included
        served_cache = IndexCache(Path(folder) / "served-cache")
        timings: dict[str, list[float]] = {"from the served": [], "from nothing": []}
        for _ in range(args.runs):
            Matcher(load_knowledge(served), cache=served_cache)  # read back after the first run, as the bot serves it
            timings["from the served"].append(rebuild(taught, cache))
            index_module._last_classifier, meaning_module._last = None, None
            timings["from nothing"].append(rebuild(taught, cache))
    for name, runs in timings.items():
        print(f"teach, trained {name}: best {min(runs):.2f} s CPU, median {sorted(runs)[len(runs) // 2]:.2f} s ({len(runs)} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
