"""End to end: with PMBOT_AUTO_RELOAD the bot serves edits made on disk by itself, and a broken edit changes nothing.

A broken edit is posted to the moderator log channel (#bot-log here) without
pinging anyone; an upload, which writes the file itself, is not reloaded a
second time. The bot logs at DEBUG so that the watcher's "nothing to do" can
be waited for rather than slept on.
"""

from __future__ import annotations

import re
from pathlib import Path

from e2e_support import assert_no_pings, ask_title, embed, run_kb, wait_for_log
from fake_discord import FakeDiscord

from bot.service import KnowledgeService

BOT_COMMANDS = ("ask", "kb")
SETTLE = 0.3
RELOADED = "knowledge reloaded after an edit on disk"
UNCHANGED = "knowledge files touched but unchanged"
QUESTION = "What is project management?"


def BOT_ENV(fake: FakeDiscord) -> dict[str, str]:
    return {
        "PMBOT_AUTO_RELOAD": "true",
        "PMBOT_AUTO_RELOAD_DELAY": str(SETTLE),
        "PMBOT_MOD_LOG_CHANNEL": str(fake.channel_id("bot-log")),
        "PMBOT_LOG_LEVEL": "DEBUG",
    }


def test_an_edit_on_disk_changes_the_answers_within_seconds(
    fake: FakeDiscord, bot, knowledge: Path, service: KnowledgeService, new_user
) -> None:
    basics = knowledge / "basics.yaml"
    shipped = service.kb.intents["project-management-definition"].title
    assert ask_title(fake, QUESTION, new_user()) == shipped
    mark = len(bot.log())
    basics.write_text(basics.read_text().replace(f"title: {shipped}", "title: What is project management, edited?"))

    # No command, no restart: the reload arrives by itself.
    assert "1 changed: project-management-definition" in wait_for_log(bot, RELOADED, after=mark)
    assert ask_title(fake, QUESTION, new_user()) == "What is project management, edited?"


def test_a_broken_edit_changes_nothing_and_is_posted_to_the_mod_log(
    fake: FakeDiscord, bot, knowledge: Path, new_user
) -> None:
    basics = knowledge / "basics.yaml"
    good = basics.read_text()
    serving = ask_title(fake, QUESTION, new_user())
    since, mark = fake.cursor(), len(bot.log())
    basics.write_text(good + "  - id: [unclosed\n")
    try:
        posted = fake.wait_for_message("bot-log", since=since)
        result = embed(posted)
        assert result["title"] == "Knowledge edit not loaded"
        assert re.search(r"```\nbasics\.yaml:\d+: YAML syntax error", result["description"]), result["description"]
        assert "previous knowledge keeps serving" in result["description"]
        assert_no_pings(posted.payload)
        assert "still serving the last good knowledge" in bot.log()[mark:]
        assert ask_title(fake, QUESTION, new_user()) == serving
    finally:
        basics.write_text(good)
    wait_for_log(bot, UNCHANGED, after=mark)  # back to what is served: nothing to reload


def test_an_upload_is_not_reloaded_again_by_the_watcher(fake: FakeDiscord, bot, knowledge: Path) -> None:
    mark = len(bot.log())
    data = (knowledge / "basics.yaml").read_bytes() + b"# uploaded from Discord\n"
    result = embed(run_kb(fake, "upload", {"file": fake.attach_file("basics.yaml", data)}))
    assert result["title"] == "Uploaded basics.yaml"
    assert (knowledge / "basics.yaml").read_bytes() == data

    log = wait_for_log(bot, UNCHANGED, after=mark)  # the watcher saw the file the upload wrote...
    assert RELOADED not in log, "...and left it alone: the upload had already served it"
