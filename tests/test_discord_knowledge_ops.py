"""The Discord side of knowledge operations, without a socket: the keeper every change goes through,
the bot's file watcher and moderator log, and the /kb reports fitted to Discord's limits.

The end-to-end tests (tests/e2e/test_e2e_knowledge_ops.py, test_e2e_auto_reload.py) run the same
through the real process; these pin down the rules that are awkward to reach from outside, such as
two changes landing at once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.config import Settings
from bot.discord.app import PMBot
from bot.discord.kb_replies import feedback_reply, gaps_reply, proposals_reply, usage_reply, why_reply
from bot.keeper import KnowledgeKeeper
from bot.discord.render import NO_PINGS, to_embed
from bot import service as service_module
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.matching.explain import explain, explain_text
from bot.reports import GapReport, Proposal, UsageReport
from bot.service import KnowledgeService
from bot.store import FeedbackSummary
from tests.conftest import KNOWLEDGE, new_intent

BROKEN = "  - id: [unclosed\n"


@pytest.fixture
def small_knowledge(tmp_path: Path) -> Path:
    """A two-file knowledge folder: these tests are about changing files, and it loads in milliseconds."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "categories.yaml").write_bytes((KNOWLEDGE / "categories.yaml").read_bytes())
    (folder / "basics.yaml").write_bytes(new_intent("scrum-basics", "scrum teams"))
    return folder


def keeper_for(folder: Path) -> KnowledgeKeeper:
    return KnowledgeKeeper(KnowledgeService(folder), keep=5, max_bytes=256_000)


async def eventually(check: Callable[[], bool], timeout: float = 90.0) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


# -- the keeper ---------------------------------------------------------------------------


async def test_an_upload_is_validated_written_and_served(small_knowledge: Path) -> None:
    keeper = keeper_for(small_knowledge)
    backup, diff = await keeper.upload("okrs.yaml", new_intent("okr-basics", "okrs"))
    assert not backup.existed, "a new file has no previous version"
    assert diff.added == ("okr-basics",)
    assert keeper.service.ask("what are okrs").result.intent_id == "okr-basics"
    assert (small_knowledge / "okrs.yaml").exists()


async def test_a_refused_upload_writes_nothing_and_serves_the_same(small_knowledge: Path) -> None:
    keeper = keeper_for(small_knowledge)
    served = keeper.service.kb
    text = (small_knowledge / "basics.yaml").read_text()
    with pytest.raises(KnowledgeError):
        await keeper.upload("basics.yaml", (text + BROKEN).encode())
    assert (small_knowledge / "basics.yaml").read_text() == text
    assert keeper.files.backups() == []
    assert keeper.service.kb is served


async def test_uploads_need_a_knowledge_folder(tmp_path: Path) -> None:
    single = tmp_path / "all.yaml"
    single.write_bytes((KNOWLEDGE / "categories.yaml").read_bytes() + new_intent("okr-basics", "okrs"))
    with pytest.raises(KnowledgeError, match="need PMBOT_KNOWLEDGE to be a folder"):
        await keeper_for(single).upload("all.yaml", b"intents: []\n")


async def test_changes_landing_together_are_applied_one_after_the_other(small_knowledge: Path) -> None:
    # Without the lock, the second upload would build its knowledge before the first was written
    # and swap it in afterwards, silently dropping the first upload from what is served.
    keeper = keeper_for(small_knowledge)
    await asyncio.gather(
        keeper.upload("okrs.yaml", new_intent("okr-basics", "okrs")),
        keeper.upload("kpis.yaml", new_intent("kpi-basics", "kpis")),
        keeper.reload_if_changed(),
    )
    assert {"okr-basics", "kpi-basics"} <= keeper.service.kb.intents.keys()


async def test_reload_if_changed_skips_what_is_already_served(small_knowledge: Path) -> None:
    keeper = keeper_for(small_knowledge)
    served = keeper.service.kb
    assert await keeper.reload_if_changed() is None
    assert keeper.service.kb is served
    (small_knowledge / "okrs.yaml").write_bytes(new_intent("okr-basics", "okrs"))
    diff = await keeper.reload_if_changed()
    assert diff is not None and diff.added == ("okr-basics",)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[KnowledgeBase]:
    """Every knowledge loaded for serving, recorded: unchanged files must not be parsed or indexed again."""
    seen: list[KnowledgeBase] = []
    real = service_module.load_knowledge

    def counting(path: Path, **options: Any) -> KnowledgeBase:
        seen.append(kb := real(path, **options))
        return kb

    monkeypatch.setattr(service_module, "load_knowledge", counting)
    return seen


async def test_files_saved_without_a_change_are_not_rebuilt(small_knowledge: Path, builds: list[KnowledgeBase]) -> None:
    keeper = keeper_for(small_knowledge)
    served = keeper.service.matcher
    for file in small_knowledge.iterdir():  # an editor saving unchanged files: new times, same text
        file.write_bytes(file.read_bytes())
    assert await keeper.reload_if_changed() is None
    assert (await keeper.reload()).empty
    assert len(builds) == 1 and keeper.service.matcher is served
    (small_knowledge / "okrs.yaml").write_bytes(new_intent("okr-basics", "okrs"))
    assert (await keeper.reload()).added == ("okr-basics",)
    assert len(builds) == 2


async def test_rollback_undoes_the_last_upload_and_then_has_nothing_left(small_knowledge: Path) -> None:
    keeper = keeper_for(small_knowledge)
    original = (small_knowledge / "basics.yaml").read_bytes()
    await keeper.upload("basics.yaml", original.replace(b"title: What are scrum teams?", b"title: Scrum teams?"))
    backup, diff = await keeper.rollback()
    assert backup.name == "basics.yaml" and diff.changed == ("scrum-basics",)
    assert (small_knowledge / "basics.yaml").read_bytes() == original
    with pytest.raises(FileNotFoundError):
        await keeper.rollback()


async def test_rolling_back_a_new_file_removes_it_and_its_intents(small_knowledge: Path) -> None:
    keeper = keeper_for(small_knowledge)
    await keeper.upload("okrs.yaml", new_intent("okr-basics", "okrs"))
    backup, diff = await keeper.rollback()
    assert backup.name == "okrs.yaml" and not backup.existed
    assert diff.removed == ("okr-basics",)
    assert not (small_knowledge / "okrs.yaml").exists()
    assert keeper.service.ask("what are okrs").result.intent_id != "okr-basics"


# -- the bot's watcher and moderator log -------------------------------------------------------


def bot_for(folder: Path, **settings: object) -> tuple[PMBot, MagicMock]:
    """A real PMBot (never connected) whose moderator log channel is a mock."""
    bot = PMBot(Settings(knowledge_path=folder, **settings), KnowledgeService(folder), store=None, auto_sync=False)  # type: ignore[arg-type]
    channel = MagicMock(spec=discord.PartialMessageable)
    channel.send = AsyncMock()
    bot.get_partial_messageable = MagicMock(return_value=channel)  # type: ignore[method-assign]
    return bot, channel


async def test_the_bot_serves_edits_on_disk_and_posts_every_edit_to_the_mod_log(small_knowledge: Path) -> None:
    bot, channel = bot_for(small_knowledge, auto_reload=True, auto_reload_delay=0.05, mod_log_channel_id=42)
    await bot._async_setup_hook()  # what login does first: discord.py's own set-up (the shard queue)
    await bot.setup_hook()
    await asyncio.sleep(0)  # let the watcher take its first look at the files (it does so before its first await)
    try:
        (small_knowledge / "okrs.yaml").write_bytes(new_intent("okr-basics", "okrs"))
        await eventually(lambda: "okr-basics" in bot.service.kb.intents)
        await eventually(lambda: channel.send.await_count == 1)
        reloaded = channel.send.await_args.kwargs["content"]
        assert "file watcher" in reloaded and "okr-basics" in reloaded, "the audit trail says who and what"

        served = bot.service.kb
        (small_knowledge / "okrs.yaml").write_bytes(new_intent("okr-basics", "okrs") + BROKEN.encode())
        await eventually(lambda: channel.send.await_count == 2)
        bot.get_partial_messageable.assert_called_with(42)
        kwargs = channel.send.await_args.kwargs
        assert kwargs["allowed_mentions"] is NO_PINGS
        assert kwargs["embed"].title == "Knowledge edit not loaded"
        assert "```\nokrs.yaml:" in kwargs["embed"].description, "file names relative to the knowledge folder"
        assert bot.service.kb is served
    finally:
        await bot.close()
    assert bot._watcher is None


async def test_an_edit_made_before_the_watcher_started_is_served_too(small_knowledge: Path) -> None:
    bot, _ = bot_for(small_knowledge, auto_reload=True, auto_reload_delay=60)  # only the first look can see it
    (small_knowledge / "okrs.yaml").write_bytes(new_intent("okr-basics", "okrs"))  # after loading, before watching
    await bot._async_setup_hook()  # what login does first: discord.py's own set-up (the shard queue)
    await bot.setup_hook()
    try:
        await eventually(lambda: "okr-basics" in bot.service.kb.intents)
    finally:
        await bot.close()


async def test_the_watchers_first_look_at_unchanged_files_builds_nothing(
    small_knowledge: Path, builds: list[KnowledgeBase], caplog: pytest.LogCaptureFixture
) -> None:
    """It used to build a whole second matcher at every start, only to find the files unchanged."""
    bot, _ = bot_for(small_knowledge, auto_reload=True, auto_reload_delay=60)
    with caplog.at_level(logging.DEBUG, logger="pmbot.discord"):
        await bot._async_setup_hook()  # what login does first: discord.py's own set-up (the shard queue)
        await bot.setup_hook()
        try:
            await eventually(lambda: "touched but unchanged" in caplog.text)
        finally:
            await bot.close()
    assert len(builds) == 1


async def test_without_a_mod_log_channel_a_broken_edit_is_only_logged(
    small_knowledge: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot, channel = bot_for(small_knowledge, auto_reload=False)
    (small_knowledge / "okrs.yaml").write_text(BROKEN)
    with caplog.at_level(logging.WARNING, logger="pmbot.discord"):
        await bot.knowledge_edited()
    assert f"{small_knowledge / 'okrs.yaml'}:2: YAML syntax error" in caplog.text, caplog.text
    bot.get_partial_messageable.assert_not_called()


async def test_no_watcher_unless_auto_reload_is_on(small_knowledge: Path) -> None:
    bot, _ = bot_for(small_knowledge, auto_reload=False)
    await bot._async_setup_hook()  # what login does first: discord.py's own set-up (the shard queue)
    await bot.setup_hook()
    assert bot._watcher is None
    await bot.close()


# -- reports fitted to one embed --------------------------------------------------------------------


def assert_fits(embed: discord.Embed) -> None:
    assert len(embed) <= 6000 and len(embed.description or "") <= 4096 and len(embed.fields) <= 25
    assert all(len(f.name) <= 256 and len(f.value) <= 1024 for f in embed.fields)


def test_gaps_fit_and_show_every_requested_gap() -> None:
    link = f"https://discord.com/channels/{10**18}/{10**18 + 1}/{10**18 + 2}"
    gaps = [GapReport("*why* " * 120, 50 - n, tuple(f"variant {i}" for i in range(30)), "x" * 60, None, link)
            for n in range(25)]
    embed = to_embed(gaps_reply(gaps, 30))
    assert_fits(embed)
    assert "**25.** ×26 “\\*why\\*" in (embed.description or ""), "every gap listed, its markdown shown as typed"


def test_a_follow_up_gap_says_which_answer_it_followed() -> None:
    asked = "what about project managers?"
    gap = GapReport(asked, 3, (asked,), "project-manager-responsibilities", "product-management-demand")
    description = to_embed(gaps_reply([gap], 30)).description or ""
    assert "closest: `project-manager-responsibilities` · after the answer to `product-management-demand`" in description


def test_a_gap_links_to_its_latest_question_in_its_conversation() -> None:
    link = "https://discord.com/channels/1/2/3"
    description = to_embed(gaps_reply([GapReport("what is a RACI chart?", 2, ("what is a RACI chart?",), None, None,
                                                 link)], 30)).description or ""
    assert f"closest: none · [latest]({link})" in description


def test_the_weekly_digest_fits_and_is_not_sent_for_an_empty_week(kb) -> None:
    from bot.discord.kb_replies import digest_reply

    idle = UsageReport(0, 0, 0, [], 0, 0)
    assert digest_reply(idle, [], kb, 7) is None, "nothing to tell: no post"
    busy = UsageReport(900, 80, 20, [(i, 100 - n) for n, i in enumerate(list(kb.intents)[:10])], 40, 3)
    gaps = [GapReport("*why* " * 120, 50 - n, ("x",), None, downvoted="scope-creep" if n == 0 else None)
            for n in range(5)]
    embed = to_embed(digest_reply(busy, gaps, kb, 7))  # type: ignore[arg-type]
    assert_fits(embed)
    assert "**1000** questions replied to" in (embed.description or "") and "👎 3" in (embed.description or "")
    [most, asked] = embed.fields
    assert asked.value.startswith("×50 “\\*why\\*") and "(answered `scope-creep`, voted 👎)" in asked.value
    assert asked.value.count("\n") == 4, "every gap listed"
    only_gaps = digest_reply(idle, gaps[:1], kb, 7)
    assert only_gaps is not None and "replied to no question" in only_gaps.body
    locked_out = to_embed(digest_reply(idle, [], kb, 7, ["<#5>: Send Messages"] * 500))  # type: ignore[arg-type]
    assert_fits(locked_out)
    [warning] = locked_out.fields
    assert warning.value.startswith("⚠️ <#5>: Send Messages"), "a quiet week pmbot may not answer in is told why"


def test_feedback_fits_and_says_how_many_were_left_out() -> None:
    rows = [FeedbackSummary(f"intent-{n:03d}", n, 500 - n) for n in range(500)]
    embed = to_embed(feedback_reply(rows, 30))
    assert_fits(embed)
    assert "**1.** `intent-000`: 100% 👎 (500 👎 · 0 👍)" in (embed.description or "")
    assert "more." in (embed.description or "")


def test_stats_show_each_kinds_share_and_the_answers_given_most(kb) -> None:
    intent_id = next(iter(kb.intents))
    most = [(intent_id, 900), *((f"gone-intent-{n:02d}-" + "x" * 60, 10) for n in range(30))]
    embed = to_embed(usage_reply(UsageReport(900, 60, 40, most, 7, 2), 30, kb))
    assert_fits(embed)
    description = embed.description or ""
    assert "**1000** questions replied to" in description and "**900** answered (90%)" in description
    assert "**60** offered “Did you mean…” (6%)" in description and "**40** not answered (4%)" in description
    assert "👍 7 · 👎 2" in description
    [field] = embed.fields
    assert field.value.startswith(f"×900 {kb.intents[intent_id].title} (`{intent_id}`)")
    assert "`gone-intent-00-" in field.value, "an answer removed from the knowledge since is shown by its id"
    quiet = to_embed(usage_reply(UsageReport(0, 0, 0, [], 0, 0), 7, kb))
    assert quiet.title == "pmbot in this server, last 7 days" and "has not replied" in (quiet.description or "")
    taught = to_embed(usage_reply(UsageReport(900, 60, 40, most, 7, 2, answered_before=300, replies_before=400), 30, kb))
    assert "**900** answered (90%; 75% in as many days before)" in (taught.description or "")


def test_proposals_fit_and_say_how_many_wait_beyond_the_picker() -> None:
    shown = [Proposal(10**18, "x" * 60, "*who* " * 100, 25 - n, ("q",)) for n in range(25)]
    embed = to_embed(proposals_reply(shown, ["Server_" + "s" * 90] * 25, waiting=40))
    assert_fits(embed)
    description = embed.description or ""
    assert "40 are waiting; these are the 25 most asked." in description
    assert "**1.** ×25 “\\*who\\*" in description and "· Server\\_sss" in description, "names and questions shown as typed"


def test_why_names_what_an_answer_also_offers(kb, matcher) -> None:
    report = explain(kb, matcher.match("How do I become a product manager and what does it pay?"))
    assert report["decision"] == "answer" and report["also"]
    offered = ", ".join(report["also"])
    assert f"(also offers {offered})" in explain_text(report)
    assert "· also offers " + ", ".join(f"`{i}`" for i in report["also"]) in (to_embed(why_reply(report)).description or "")


def test_why_fits_even_for_the_longest_question(kb, matcher) -> None:
    question = "what does a product manager do " * 20
    embed = to_embed(why_reply(explain(kb, matcher.match(question[:600]))))
    assert_fits(embed)
    assert len(embed.fields) == 5
