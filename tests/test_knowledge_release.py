"""A knowledge folder seeded from an earlier release (a Docker volume) gets this release's files where nobody edited
them, keeps the files edited there, and is never left broken."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from bot.knowledge.loader import Problem
from bot.knowledge.files import Backup, KnowledgeFiles
from bot.knowledge.release import RECORD, bring_release_knowledge, digest, released_versions, update_from_release
from tests.conftest import KNOWLEDGE, ROOT, clean_env

NEW_PHRASING = "zanzibar quokka wombat"


def with_phrasing(text: str, phrasing: str) -> str:
    """The file's first intent with one more phrasing."""
    assert text.count("    phrasings:\n") >= 1
    return text.replace("    phrasings:\n", f"    phrasings:\n      - {phrasing}\n", 1)


@pytest.fixture
def earlier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(a volume seeded from the earlier release, this release's bundled knowledge): the earlier release is the
    shipped knowledge; this one adds a phrasing to basics.yaml and to careers.yaml."""
    volume, bundled = tmp_path / "volume", tmp_path / "bundled"
    shutil.copytree(KNOWLEDGE, volume)
    shutil.copytree(KNOWLEDGE, bundled)
    for name in ("basics.yaml", "careers.yaml"):
        (bundled / name).write_text(with_phrasing((bundled / name).read_text(encoding="utf-8"), f"{NEW_PHRASING} {name}"),
                                    encoding="utf-8")
    return volume, bundled


def test_every_bundled_file_is_listed_as_released() -> None:
    """Else a copy of this release's files would count as edited once the next release changes them."""
    versions = released_versions()
    missing = [f.name for f in sorted(KNOWLEDGE.glob("*.yaml")) if digest(f.read_bytes()) not in versions.get(f.name, ())]
    assert missing == [], "run `make released-knowledge` after editing knowledge/, and commit bot/knowledge/released.json"


def test_files_nobody_edited_get_the_release_and_edited_ones_are_kept(earlier: tuple[Path, Path]) -> None:
    volume, bundled = earlier
    edited = with_phrasing((volume / "careers.yaml").read_text(encoding="utf-8"), "our own guild's career ladder")
    (volume / "careers.yaml").write_text(edited, encoding="utf-8")
    files = KnowledgeFiles(volume)
    update = update_from_release(files, bundled)
    assert update.updated == ("basics.yaml",) and update.kept == ("careers.yaml",)
    assert (volume / "basics.yaml").read_bytes() == (bundled / "basics.yaml").read_bytes()
    assert (volume / "careers.yaml").read_text(encoding="utf-8") == edited
    assert f"{NEW_PHRASING} basics.yaml" in {p for i in load_knowledge(volume).intents.values() for p in i.phrasings}
    again = update_from_release(files, bundled)
    assert again.updated == () and [b.name for b in files.backups()] == ["basics.yaml"]


def test_a_rollback_of_the_release_s_file_is_kept_at_the_next_start(earlier: tuple[Path, Path]) -> None:
    """The folder's record says what pmbot brought: the earlier version, restored by a moderator, is now an edit."""
    volume, bundled = earlier
    files = KnowledgeFiles(volume)
    update_from_release(files, bundled)
    files.rollback()
    assert (volume / "careers.yaml").read_bytes() == (KNOWLEDGE / "careers.yaml").read_bytes()
    update = update_from_release(files, bundled)
    assert update.updated == () and update.kept == ("careers.yaml",)
    assert (volume / "careers.yaml").read_bytes() == (KNOWLEDGE / "careers.yaml").read_bytes()
    assert json.loads((volume / RECORD).read_text())["careers.yaml"] == digest((bundled / "careers.yaml").read_bytes())


def test_a_release_that_would_break_the_folder_changes_nothing(earlier: tuple[Path, Path]) -> None:
    """A moderator taught the release's new phrasing to another intent: two intents with one phrasing is refused."""
    volume, bundled = earlier
    taught = with_phrasing((volume / "practice.yaml").read_text(encoding="utf-8"), f"{NEW_PHRASING} basics.yaml")
    (volume / "practice.yaml").write_text(taught, encoding="utf-8")
    before = {f.name: f.read_bytes() for f in volume.iterdir() if f.is_file()}
    with pytest.raises(KnowledgeError, match="basics.yaml"):
        update_from_release(KnowledgeFiles(volume), bundled)
    assert {f.name: f.read_bytes() for f in volume.iterdir() if f.is_file() and f.suffix == ".yaml"} == {
        n: b for n, b in before.items() if n.endswith(".yaml")}
    assert KnowledgeFiles(volume).backups() == []


def test_a_folder_of_other_knowledge_and_the_bundled_folder_itself_are_left_alone(
    tmp_path: Path, earlier: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    volume, bundled = earlier
    own = tmp_path / "own"
    own.mkdir()
    (own / "basics.yaml").write_bytes((bundled / "categories.yaml").read_bytes())  # a name of ours, a text of theirs
    with caplog.at_level(logging.INFO, logger="pmbot.knowledge"):
        bring_release_knowledge(own, bundled, keep=5)
        bring_release_knowledge(bundled, bundled, keep=5)
    assert (own / "basics.yaml").read_bytes() == (bundled / "categories.yaml").read_bytes()
    assert "kept basics.yaml" in caplog.text and "brought" not in caplog.text
    assert not (bundled / RECORD).exists()


def test_a_refused_release_is_logged_and_the_start_goes_on(
    earlier: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    volume, bundled = earlier
    (volume / "practice.yaml").write_text(
        with_phrasing((volume / "practice.yaml").read_text(encoding="utf-8"), f"{NEW_PHRASING} basics.yaml"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pmbot.knowledge"):
        bring_release_knowledge(volume, bundled, keep=5)
    assert "was not brought into" in caplog.text and "basics.yaml" in caplog.text and "served as it was" in caplog.text


def test_pmbot_run_brings_the_release_into_its_knowledge_folder(earlier: tuple[Path, Path], tmp_path: Path) -> None:
    """The real process, whose bundled knowledge is the shipped one, on a folder holding basics.yaml as an earlier
    release shipped it: a copy of pmbot's code whose released.json lists that version."""
    volume, _ = earlier
    earlier_text = with_phrasing((KNOWLEDGE / "basics.yaml").read_text(encoding="utf-8"), "an earlier release's phrasing")
    (volume / "basics.yaml").write_text(earlier_text, encoding="utf-8")
    code = tmp_path / "code"
    shutil.copytree(ROOT / "bot", code / "bot", symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "minilm"))
    (code / "bot" / "matching" / "minilm").symlink_to(ROOT / "bot" / "matching" / "minilm")
    (code / "knowledge").symlink_to(KNOWLEDGE)  # bot/bundled_knowledge links to ../knowledge
    versions = {name: sorted(d) for name, d in released_versions().items()}
    versions["basics.yaml"].append(digest(earlier_text.encode()))
    (code / "bot" / "knowledge" / "released.json").write_text(json.dumps(versions), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "run", "--console"], input="/quit\n", capture_output=True,
                         text=True, cwd=code, env=clean_env(PYTHONPATH=str(code), PMBOT_KNOWLEDGE=str(volume)), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "brought this release's version of basics.yaml" in out.stderr
    assert (volume / "basics.yaml").read_bytes() == (KNOWLEDGE / "basics.yaml").read_bytes()


def test_a_write_refused_midway_leaves_every_file_as_it_was(
    earlier: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk after the first file: a folder with one of the release's files and not the other might not load."""
    volume, bundled = earlier
    before = {f.name: f.read_bytes() for f in volume.glob("*.yaml")}
    real_install = KnowledgeFiles.install

    def second_refused(self: KnowledgeFiles, name: str, text: str) -> Backup:
        if name == "careers.yaml":
            raise KnowledgeError([Problem(name, 1, "cannot write to the knowledge folder (No space left on device)")])
        return real_install(self, name, text)

    monkeypatch.setattr(KnowledgeFiles, "install", second_refused)
    with pytest.raises(KnowledgeError, match="No space left"):
        update_from_release(KnowledgeFiles(volume), bundled)
    assert {f.name: f.read_bytes() for f in volume.glob("*.yaml")} == before
    assert KnowledgeFiles(volume).backups() == [] and not (volume / RECORD).exists()
