"""End to end: SIGTERM stops the bot with exit 0 without waiting for a reload, after letting replies in flight finish.

Each test runs its own bot against its own fake, because each ends by stopping it.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Iterator

import pytest
from e2e_support import (
    EVENT_TIMEOUT,
    BotProcess,
    add_users,
    cloned_intents,
    copy_knowledge,
    reply_to,
    start_bot,
    wait_for_log,
    wait_ready,
)
from fake_discord import FakeDiscord

STOPPED = "pmbot.discord: stopped"


@pytest.fixture
def own_fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True, default_timeout=EVENT_TIMEOUT).start()
    add_users(server, 2)
    try:
        yield server
    finally:
        server.stop()


def test_sigterm_during_a_reload_exits_0_without_waiting_for_it(own_fake: FakeDiscord, tmp_path: Path) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    bot = start_bot(own_fake, tmp_path / "bot", knowledge)
    try:
        wait_ready(own_fake, bot, ("ask", "kb"))
        (knowledge / "clones.yaml").write_text(cloned_intents(knowledge, 10))
        handle = own_fake.send_slash_command("kb reload", None, user=own_fake.moderator)
        assert handle.wait_response().response_type == 5  # deferred: the reload is running
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.proc.wait(timeout=EVENT_TIMEOUT) == 0, bot.log()
    finally:
        bot.terminate()
    log = bot.log()
    assert STOPPED in log and "Traceback" not in log
    assert "knowledge reloaded by user" not in log, "the reload was abandoned, not waited for"


def test_a_reply_in_flight_is_delivered_before_the_bot_stops(own_fake: FakeDiscord, tmp_path: Path) -> None:
    bot: BotProcess = start_bot(own_fake, tmp_path / "bot", copy_knowledge(tmp_path / "knowledge"))
    try:
        wait_ready(own_fake, bot)
        slow = own_fake.hold("POST", r"/channels/\d+/messages")  # Discord takes its time to accept the reply
        question = own_fake.send_message("general", "What is scope creep?", author="asker0", mentions_bot=True)
        assert slow.arrived.wait(EVENT_TIMEOUT)
        mark = len(bot.log())
        bot.proc.send_signal(signal.SIGTERM)
        wait_for_log(bot, "reply(s) in flight", after=mark)
        assert bot.alive(), "still running while its reply is on the way"
        own_fake.release(slow)
        assert reply_to(own_fake, question).ok
        assert bot.proc.wait(timeout=EVENT_TIMEOUT) == 0, bot.log()
    finally:
        bot.terminate()
    log = bot.log()
    assert STOPPED in log
    assert "Session is closed" not in log and "Traceback" not in log and "ERROR" not in log
