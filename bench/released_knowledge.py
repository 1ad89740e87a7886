"""Writes bot/knowledge/released.json: the sha256 of every version of every knowledge file ever committed.

    python bench/released_knowledge.py      (make released-knowledge)

`pmbot run` replaces a file of a knowledge folder with this release's version only when the folder holds it as
one of these (bot/knowledge/release.py): a file nobody edited there. The files as they are in the working tree
count too, so the knowledge can be edited, this run, and both committed together; a test fails when the bundled
files are not all listed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.loader import YAML_SUFFIXES  # noqa: E402
from bot.knowledge.release import RELEASED, digest  # noqa: E402


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def main() -> int:
    blobs: dict[str, set[str]] = defaultdict(set)  # file name -> blob ids
    for commit in git("rev-list", "HEAD", "--", "knowledge").decode().split():
        for line in git("ls-tree", commit, "knowledge/").decode().splitlines():
            meta, path = line.split("\t", 1)
            if Path(path).suffix in YAML_SUFFIXES:
                blobs[Path(path).name].add(meta.split()[2])
    versions: dict[str, set[str]] = defaultdict(set)
    for name, ids in blobs.items():
        for blob in ids:
            versions[name].add(digest(git("cat-file", "blob", blob)))
    for file in (ROOT / "knowledge").iterdir():
        if file.suffix in YAML_SUFFIXES:
            versions[file.name].add(digest(file.read_bytes()))
    RELEASED.write_text(json.dumps({name: sorted(d) for name, d in sorted(versions.items())}, indent=1) + "\n",
                        encoding="utf-8")
    print(f"{RELEASED.relative_to(ROOT)}: {sum(map(len, versions.values()))} versions of {len(versions)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
