"""End to end: starting, refusing to start, stopping, and `python -m bot sync`.

Each test runs its own short-lived process against its own fake, so these
do not share the module-wide bot the other e2e modules use.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from e2e_support import EVENT_TIMEOUT, START_TIMEOUT, clean_env, copy_knowledge, run_cli, start_bot, wait_ready
from fake_discord import FakeDiscord

EXPECTED_COMMANDS = {"ask", "help", "role", "compare", "topics", "kb", "config", "privacy", "Ask pmbot"}


@pytest.fixture
def own_fake(request: pytest.FixtureRequest) -> Iterator[FakeDiscord]:
    options = getattr(request, "param", {})
    server = FakeDiscord(**{"default_timeout": EVENT_TIMEOUT, **options}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_knowledge(tmp_path_factory.mktemp("lifecycle") / "knowledge")


def sync_env(fake: FakeDiscord, knowledge: Path, token: str = "fake-token") -> dict[str, str]:
    return clean_env(
        DISCORD_TOKEN=token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        PMBOT_KNOWLEDGE=str(knowledge),
    )


def test_sync_registers_commands_globally(own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path) -> None:
    done = run_cli(["sync"], sync_env(own_fake, shared_knowledge), tmp_path)
    assert done.returncode == 0, done.stderr
    assert {c["name"] for c in own_fake.global_commands} == EXPECTED_COMMANDS
    assert own_fake.guild_commands == []
    assert "Synced 9 commands globally" in done.stdout and "/config, /privacy, Apps → Ask pmbot" in done.stdout
    assert "/kb" in done.stdout
    assert own_fake.gateway_received == [], "syncing needs no gateway connection"
    assert own_fake.violations == []


def test_sync_to_one_guild(own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path) -> None:
    done = run_cli(["sync", "--guild", str(own_fake.guild_id)], sync_env(own_fake, shared_knowledge), tmp_path)
    assert done.returncode == 0, done.stderr
    assert {c["name"] for c in own_fake.guild_commands} == EXPECTED_COMMANDS
    assert own_fake.global_commands == []
    assert f"to guild {own_fake.guild_id}" in done.stdout

    cleared = run_cli(["sync", "--guild", str(own_fake.guild_id), "--clear"], sync_env(own_fake, shared_knowledge), tmp_path)
    assert cleared.returncode == 0, cleared.stderr
    assert own_fake.guild_commands == [] and "Removed" in cleared.stdout


def test_sync_without_a_token_says_so(shared_knowledge: Path, tmp_path: Path) -> None:
    done = run_cli(["sync"], clean_env(PMBOT_KNOWLEDGE=str(shared_knowledge)), tmp_path)
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr


@pytest.mark.parametrize("own_fake", [{"token": "the-real-token"}], indirect=True)
def test_a_bad_token_is_a_clear_error_and_exit_code_1(own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path) -> None:
    env = sync_env(own_fake, shared_knowledge, token="not-the-token")
    env["PMBOT_DATABASE"] = str(tmp_path / "db.sqlite3")
    done = run_cli(["run"], env, tmp_path, timeout=START_TIMEOUT)
    assert done.returncode == 1
    assert "Discord rejected DISCORD_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli(["sync"], env, tmp_path, timeout=START_TIMEOUT)
    assert done.returncode == 1 and "Discord rejected DISCORD_TOKEN" in done.stderr


@pytest.mark.parametrize("own_fake", [{"allowed_privileged_intents": 0}], indirect=True)
def test_message_content_refused_by_discord_explains_the_portal_switch(
    own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path
) -> None:
    bot = start_bot(own_fake, tmp_path / "bot", shared_knowledge, PMBOT_LISTEN_CHANNELS=str(own_fake.channel_id("pm-questions")))
    try:
        code = bot.proc.wait(timeout=START_TIMEOUT)
    finally:
        bot.terminate()
    log = bot.log()
    assert code == 1, log
    assert "Message Content" in log and "Developer Portal" in log


def test_invalid_knowledge_at_start_lists_the_problems(own_fake: FakeDiscord, tmp_path: Path) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    (knowledge / "broken.yaml").write_text("intents:\n  - id: [oops\n")
    env = sync_env(own_fake, knowledge)
    env["PMBOT_DATABASE"] = str(tmp_path / "db.sqlite3")
    done = run_cli(["run"], env, tmp_path, timeout=START_TIMEOUT)
    assert done.returncode == 1
    assert "broken.yaml:" in done.stderr


def test_sigterm_shuts_down_cleanly(own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path) -> None:
    bot = start_bot(own_fake, tmp_path / "bot", shared_knowledge)
    wait_ready(own_fake, bot)
    assert bot.database.exists(), "the database (and its folder) were created"
    bot.proc.send_signal(signal.SIGTERM)
    code = bot.proc.wait(timeout=EVENT_TIMEOUT)
    bot.terminate()
    log = bot.log()
    assert code == 0, log
    assert "shutting down" in log and log.rstrip().endswith("stopped")
    assert "Traceback" not in log
    assert own_fake.violations == []


def test_sigint_too(own_fake: FakeDiscord, shared_knowledge: Path, tmp_path: Path) -> None:
    bot = start_bot(own_fake, tmp_path / "bot", shared_knowledge)
    wait_ready(own_fake, bot)
    bot.proc.send_signal(signal.SIGINT)
    assert bot.proc.wait(timeout=EVENT_TIMEOUT) == 0, bot.log()
    bot.terminate()


def test_without_a_token_or_a_terminal_run_fails_clearly(shared_knowledge: Path, tmp_path: Path) -> None:
    """A container started without DISCORD_TOKEN must not look healthy: no console chat on an empty stdin."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL, env=clean_env(PMBOT_KNOWLEDGE=str(shared_knowledge)),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "DISCORD_TOKEN is not set" in done.stderr and "--console" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr


def test_console_chat_still_works_without_a_token(shared_knowledge: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--console"],
        input="What is project management?\n/quit\n",
        env=clean_env(PMBOT_KNOWLEDGE=str(shared_knowledge)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "What is project management?" in done.stdout
