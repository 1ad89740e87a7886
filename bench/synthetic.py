"""Synthetic knowledge N times the size of the bundled one, to measure how building and matching scale.

    python bench/synthetic.py N OUT_DIR [--knowledge DIR] [--seed S]

OUT_DIR gets the bundled files plus N-1 clones. Each clone copies every intent and not_about line
under new ids and gives them a topic of their own, the way a bigger knowledge covers more topics:
a share of the content words is swapped, consistently within the clone, for made-up words (so the
vocabulary grows with the knowledge), and every phrasing is perturbed (a word dropped, two swapped,
a typo). The result is valid knowledge: `python -m bot validate OUT_DIR` passes.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import knowledge_files  # noqa: E402
from bot.matching.normalise import STOP_WORDS  # noqa: E402

TOPIC_SHARE = 0.3  # of a clone's content words, this many get the clone's own made-up word
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_WORD = re.compile(r"[A-Za-z]+")


def made_up_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def norm(text: str) -> str:
    """As the loader compares phrasings: two that normalise alike would be refused as duplicates."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


class Clone:
    def __init__(self, number: int, vocabulary: list[str], seed: int) -> None:
        self.number = number
        self.rng = random.Random(seed * 1_000 + number)
        topical = self.rng.sample(vocabulary, int(len(vocabulary) * TOPIC_SHARE))
        self.words = {word: made_up_word(self.rng) for word in topical}

    def text(self, text: str, seen: set[str]) -> str:
        """The clone's version of a phrasing: its topic words, one small perturbation, never a duplicate."""
        words = [self.words.get(w.lower(), w) if _WORD.fullmatch(w) else w for w in text.split()]
        action = self.rng.random()
        if len(words) > 3 and action < 0.25:
            del words[self.rng.randrange(len(words))]
        elif len(words) > 2 and action < 0.5:
            i = self.rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif action < 0.6:
            i = self.rng.randrange(len(words))
            if len(words[i]) > 4:
                j = self.rng.randrange(1, len(words[i]) - 1)
                words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2 :]
        result = " ".join(words)
        while norm(result) in seen or not norm(result):
            result += " " + made_up_word(self.rng)
        seen.add(norm(result))
        return result

    def intent(self, intent: dict[str, Any], seen: set[str]) -> dict[str, Any]:
        suffix = f"-x{self.number}"
        return {
            **intent,
            "id": intent["id"] + suffix,
            "title": self.text(intent["title"], set())[:100],
            "phrasings": [self.text(p, seen) for p in intent["phrasings"]],
            "keywords": [self.text(k, set()) for k in intent.get("keywords", [])],
            "follow_ups": [f + suffix for f in intent["follow_ups"]],
        }


def generate(times: int, out: Path, knowledge: Path = ROOT / "knowledge", seed: int = 12) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    intents: list[dict[str, Any]] = []
    not_about: list[str] = []
    for file in knowledge_files(knowledge):
        shutil.copyfile(file, out / file.name)
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        intents += data.get("intents", [])
        not_about += data.get("not_about", [])
    seen = {norm(p) for intent in intents for p in intent["phrasings"]}
    texts = [t for i in intents for t in (i["title"], *i["phrasings"])] + not_about
    vocabulary = sorted({w.lower() for t in texts for w in _WORD.findall(t)} - STOP_WORDS)
    for number in range(2, times + 1):
        clone = Clone(number, vocabulary, seed)
        data = {
            "intents": [clone.intent(intent, seen) for intent in intents],
            "not_about": [clone.text(line, seen) for line in not_about],
        }
        (out / f"clone-{number:03d}.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("times", type=int, help="how many times the bundled knowledge's size")
    parser.add_argument("out", type=Path, help="folder to write (the bundled files are copied in too)")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    generate(args.times, args.out, args.knowledge, args.seed)
    print(f"wrote {args.times}x the knowledge to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
