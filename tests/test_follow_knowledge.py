"""A process told that another one serves new knowledge takes it up, or says loudly why it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Settings
from bot.discord import app
from bot.discord.app import PMBot
from bot.knowledge import load_knowledge
from bot.service import KnowledgeService
from bot.matching.cache import IndexCache
from tests.conftest import VALUE_STREAMS, warm_cache_copy


@pytest.fixture
def bot(knowledge_copy: Path, monkeypatch: pytest.MonkeyPatch) -> PMBot:
    monkeypatch.setattr(app, "FOLLOW_DELAYS", (0.0, 0.0, 0.0))  # the retries themselves are not under test
    return PMBot(Settings(knowledge_path=knowledge_copy, auto_reload=False), KnowledgeService(knowledge_copy, IndexCache(warm_cache_copy())))


def version_with_value_streams(folder: Path, tmp_path: Path) -> str:
    """The version another process serves once value-streams.yaml is added to ``folder``'s knowledge."""
    other = tmp_path / "other"
    other.mkdir()
    for path in folder.glob("*.yaml"):
        (other / path.name).write_bytes(path.read_bytes())
    (other / "value-streams.yaml").write_text(VALUE_STREAMS)
    return load_knowledge(other).version  # the files' version: no need to build a matcher for it


async def test_a_change_announced_elsewhere_is_read_from_the_shared_folder(bot: PMBot, knowledge_copy: Path,
                                                                           tmp_path: Path) -> None:
    announced = version_with_value_streams(knowledge_copy, tmp_path)
    (knowledge_copy / "value-streams.yaml").write_text(VALUE_STREAMS)  # what the other process wrote to the shared folder
    await bot._follow_knowledge(announced)
    assert bot.service.kb.version == announced
    assert "value-stream-mapping" in bot.service.kb.intents
    assert bot.me.knowledge_version == announced  # what /kb status will show for this process
    assert bot.knowledge_out_of_step is None


async def test_a_process_that_cannot_follow_says_so(bot: PMBot, knowledge_copy: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    before = bot.service.kb.version
    announced = version_with_value_streams(knowledge_copy, tmp_path)  # but this process's folder never gets the file
    with caplog.at_level(logging.ERROR, logger="pmbot.discord"):
        await bot._follow_knowledge(announced)
    assert bot.service.kb.version == before  # it keeps answering with what it has...
    assert bot.knowledge_out_of_step is not None  # ...and /kb status shows why
    assert announced in bot.knowledge_out_of_step and "same shared folder" in bot.knowledge_out_of_step
    assert any("same shared folder" in r.getMessage() for r in caplog.records)
