"""Uploads, backups, rollback and the on-disk watcher: knowledge changes that lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge, watch
from bot.knowledge.files import KnowledgeFiles
from bot.knowledge.watch import watch_knowledge
from tests.conftest import KNOWLEDGE


def renamed_title(folder: Path, title: str) -> bytes:
    """practice.yaml as shipped, with scope creep's title changed (not cumulative: from the shipped text)."""
    text = (KNOWLEDGE / "practice.yaml").read_text()
    assert "title: What is scope creep?" in text
    return text.replace("title: What is scope creep?", f"title: {title}", 1).encode()


def test_a_valid_upload_replaces_the_file_and_keeps_the_old_one(knowledge_copy: Path) -> None:
    files = KnowledgeFiles(knowledge_copy, keep=3)
    before = (knowledge_copy / "practice.yaml").read_text()
    text, kb = files.check_upload("practice.yaml", renamed_title(knowledge_copy, "Scope creep, explained"))
    assert kb.intents["scope-creep"].title == "Scope creep, explained"
    backup = files.install("practice.yaml", text)
    assert backup.existed and backup.path.read_text() == before
    assert load_knowledge(knowledge_copy).intents["scope-creep"].title == "Scope creep, explained"
    assert not list(knowledge_copy.glob("*.tmp")) and not list(knowledge_copy.glob(".*.tmp"))


def test_a_replaced_file_keeps_its_permissions_and_a_new_one_is_readable_by_all(knowledge_copy: Path) -> None:
    """A host editing a bind-mounted folder as their own user reads what pmbot wrote there."""
    (knowledge_copy / "practice.yaml").chmod(0o664)
    files = KnowledgeFiles(knowledge_copy)
    files.install("practice.yaml", files.check_upload("practice.yaml", renamed_title(knowledge_copy, "Creep"))[0])
    files.install("extra.yaml", "intents: []\n")
    assert (knowledge_copy / "practice.yaml").stat().st_mode & 0o777 == 0o664
    assert (knowledge_copy / "extra.yaml").stat().st_mode & 0o777 == 0o644


def test_a_broken_upload_is_refused_with_lines_and_changes_nothing(knowledge_copy: Path) -> None:
    files = KnowledgeFiles(knowledge_copy)
    before = {p.name: p.read_bytes() for p in knowledge_copy.glob("*.yaml")}
    with pytest.raises(KnowledgeError) as caught:
        files.check_upload("practice.yaml", b"intents:\n  - id: scope-creep\n    title: [unclosed\n")
    assert caught.value.problems[0].line >= 3
    assert {p.name: p.read_bytes() for p in knowledge_copy.glob("*.yaml")} == before


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("../evil.yaml", b"intents: []", "file name"),
        ("notes.txt", b"intents: []", "file name"),
        ("big.yaml", b"#" * 300_000, "limit is"),
        ("bin.yaml", b"\xff\xfe\x00", "not UTF-8"),
        ("bomb.yaml", b"intents: !!python/object/apply:os.system ['echo hi']", "tag"),
    ],
)
def test_unsafe_or_oversized_uploads_are_refused(knowledge_copy: Path, name: str, data: bytes, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        KnowledgeFiles(knowledge_copy, max_bytes=256_000).check_upload(name, data)


def test_rollback_restores_the_previous_version_step_by_step(knowledge_copy: Path) -> None:
    files = KnowledgeFiles(knowledge_copy, keep=5)
    for title in ("First rewrite", "Second rewrite"):
        text, _ = files.check_upload("practice.yaml", renamed_title(knowledge_copy, title))
        files.install("practice.yaml", text)
    assert load_knowledge(knowledge_copy).intents["scope-creep"].title == "Second rewrite"
    files.rollback()
    assert load_knowledge(knowledge_copy).intents["scope-creep"].title == "First rewrite"
    files.rollback()
    assert load_knowledge(knowledge_copy).intents["scope-creep"].title == "What is scope creep?"
    with pytest.raises(FileNotFoundError):
        files.rollback()


def test_rolling_back_a_new_file_removes_it(knowledge_copy: Path) -> None:
    files = KnowledgeFiles(knowledge_copy)
    before = load_knowledge(knowledge_copy)
    raci = (
        "intents:\n  - id: raci-basics\n    category: practice\n    title: What is a RACI matrix?\n    source: general\n"
        "    phrasings:\n      - what is a raci matrix\n      - raci explained\n      - how does a raci chart work\n"
        "    answer: Responsible, accountable, consulted, informed.\n    follow_ups: []\n"
    )
    text, kb = files.check_upload("extra.yaml", raci.encode())
    assert "raci-basics" in kb.intents
    assert not files.install("extra.yaml", text).existed
    assert files.rollback().name == "extra.yaml"
    assert not (knowledge_copy / "extra.yaml").exists()
    assert set(load_knowledge(knowledge_copy).intents) == set(before.intents)
    with pytest.raises(FileNotFoundError):
        files.rollback()


def test_only_the_configured_number_of_versions_is_kept(knowledge_copy: Path) -> None:
    files = KnowledgeFiles(knowledge_copy, keep=2)
    for n in range(4):
        text, _ = files.check_upload("practice.yaml", renamed_title(knowledge_copy, f"Rewrite {n}"))
        files.install("practice.yaml", text)
    assert len(files.backups("practice.yaml")) == 2


WAIT = 90.0  # upper bound for an awaited event on a busy machine; the waits end as soon as it happens


async def test_watcher_reloads_once_after_edits_settle(knowledge_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: asyncio.Queue[float] = asyncio.Queue()
    looks: asyncio.Queue[None] = asyncio.Queue()  # each time the watcher reads the folder's state

    async def on_change() -> None:
        calls.put_nowait(asyncio.get_running_loop().time())

    def counted_snapshot(folder: Path) -> watch.Snapshot:
        looks.put_nowait(None)
        return real_snapshot(folder)

    real_snapshot = watch.snapshot
    monkeypatch.setattr(watch, "snapshot", counted_snapshot)
    settle = 1.0
    task = asyncio.create_task(watch_knowledge(knowledge_copy, on_change, settle=settle, poll=0.05, check_first=True))
    try:
        await asyncio.wait_for(calls.get(), WAIT)  # check_first: the watcher has taken its first look
        target = knowledge_copy / "meta.yaml"
        for n in range(3):  # an editor saving in several steps, each seen by a poll
            target.write_text(target.read_text() + f"\n# edit {n}\n")
            await asyncio.sleep(0.1)
        last_edit = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(calls.get(), WAIT) >= last_edit  # one call, once the edits settled
        while not looks.empty():
            looks.get_nowait()
        # A second call for the same edits would come within two looks (one notices, one ends the settle
        # period): after three quiet ones there is none.
        for _ in range(3):
            await asyncio.wait_for(looks.get(), WAIT)
        assert calls.empty()
    finally:
        task.cancel()


async def test_watcher_survives_a_failing_reload(knowledge_copy: Path) -> None:
    calls: asyncio.Queue[None] = asyncio.Queue()

    async def on_change() -> None:
        calls.put_nowait(None)
        raise RuntimeError("reload blew up")

    task = asyncio.create_task(watch_knowledge(knowledge_copy, on_change, settle=0.1, poll=0.05, check_first=True))
    try:
        await asyncio.wait_for(calls.get(), WAIT)  # the first look's call failed...
        for n in range(2):  # ...and every later edit is still noticed
            (knowledge_copy / "meta.yaml").write_text((knowledge_copy / "meta.yaml").read_text() + f"\n# {n}\n")
            await asyncio.wait_for(calls.get(), WAIT)
    finally:
        task.cancel()
