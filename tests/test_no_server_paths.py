"""What /kb shows on Discord never reveals where the bot's files live, and a read-only folder is explained."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from bot.discord import kb_replies
from bot.keeper import KnowledgeKeeper
from bot.knowledge import KnowledgeError, load_knowledge
from bot.knowledge import files as knowledge_files_module
from tests.conftest import KNOWLEDGE, warm_service


def shown(reply: kb_replies.Reply) -> str:
    return "\n".join([reply.title, reply.body, *(f"{f.name} {f.value}" for f in reply.fields)])


def test_problems_naming_other_files_show_them_relative(knowledge_copy: Path) -> None:
    basics = (knowledge_copy / "basics.yaml").read_text()
    (knowledge_copy / "copy.yaml").write_text(basics)  # every intent id and phrasing is now claimed twice
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_copy)
    assert any(f"also at {knowledge_copy}/basics.yaml:" in str(p) for p in caught.value.problems), "raw problems hold paths"
    text = shown(kb_replies.upload_refused_reply(caught.value, knowledge_copy))
    assert str(knowledge_copy) not in text and str(knowledge_copy.parent) not in text
    assert "copy.yaml:" in text and "(also at basics.yaml:" in text


def test_status_names_the_folder_but_not_its_path(knowledge_copy: Path) -> None:
    text = shown(kb_replies.status_reply(load_knowledge(knowledge_copy), str(knowledge_copy)))
    assert "`knowledge/`" in text and str(knowledge_copy.parent) not in text


async def test_an_upload_to_a_read_only_folder_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    keeper = KnowledgeKeeper(warm_service(folder), keep=5, max_bytes=256_000)
    served = keeper.service.kb
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    def read_only(*args: object, **kwargs: object) -> None:  # the tests run as root, which chmod cannot stop
        raise OSError(errno.EROFS, "Read-only file system", str(folder))

    monkeypatch.setattr(knowledge_files_module.tempfile, "mkstemp", read_only)
    text = (folder / "basics.yaml").read_bytes() + b"# edited\n"
    with pytest.raises(KnowledgeError) as caught:
        await keeper.upload("basics.yaml", text)
    message = shown(kb_replies.upload_refused_reply(caught.value, folder))
    assert "cannot write to the knowledge folder (Read-only file system); nothing was changed" in message
    assert str(tmp_path) not in message
    assert keeper.service.kb is served
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert keeper.files.backups() == [], "no backup left behind for an upload that never happened"
