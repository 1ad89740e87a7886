"""Helpers for the end-to-end tests: start the real bot process, read what it sent to the fake."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fake_discord import FakeDiscord, FakeUser, RecordedRequest  # noqa: E402
from fake_discord.models import DM, FakeChannel  # noqa: E402
from fake_discord.world import FORUM_CHANNEL  # noqa: E402
from tests.conftest import clean_env  # noqa: E402

HELP_CHANNEL = "pm-questions"
HELP_FORUM = FORUM_CHANNEL  # a forum channel the default settings make a help channel too
COOLDOWN_RATE = 5
# How long to wait for something the bot will do (a reply, a log line, start-up) before calling it a failure.
# Waits end as soon as the event happens, so this costs nothing when things work; it is long because a busy
# CI machine can take many times longer than an idle one.
EVENT_TIMEOUT = float(os.environ.get("PMBOT_TEST_EVENT_TIMEOUT", "90"))
START_TIMEOUT = EVENT_TIMEOUT
_user_ids = itertools.count(1_250_000_000_000_000_001)
# A knowledge file with one new intent, for tests that add knowledge (on disk or by upload).
RACI_INTENT = """\
intents:
  - id: raci-basics
    category: practice
    title: What is a RACI matrix?
    source: general
    phrasings:
      - what is a raci matrix
      - explain responsible accountable consulted informed
      - how does a raci chart work for a team
    answer: |
      A **RACI matrix** says who is responsible, accountable, consulted and informed for each task.
    follow_ups: []
"""


# -- the bot process -------------------------------------------------------------------


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    knowledge: Path
    database: Path
    _log: Any = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self, timeout: float = EVENT_TIMEOUT) -> int:
        """SIGTERM, like a service manager; kill only if it does not stop in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None and not self._log.closed:
            self._log.close()
        return self.proc.returncode


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = EVENT_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` to completion (cwd without a .env, so only ``env`` counts)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def start_bot(fake: FakeDiscord, workdir: Path, knowledge: Path, **settings: str) -> BotProcess:
    """Starts ``python -m bot run`` pointed at ``fake``; ``settings`` are extra (or overriding) environment variables."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "data" / "pmbot.sqlite3"
    defaults = dict(
        DISCORD_TOKEN="fake-token",
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        PMBOT_KNOWLEDGE=str(knowledge),
        PMBOT_DATABASE=str(database),
        PMBOT_DEV_GUILD=str(fake.guild_id),
        # The fake's first guild is home: its moderators may change the knowledge, as before there were owners.
        PMBOT_HOME_GUILD=str(fake.guild_id),
        PMBOT_MODERATOR_ROLES=str(fake.role("Moderators").id),
        PMBOT_COOLDOWN_RATE=str(COOLDOWN_RATE),
        PMBOT_COOLDOWN_SECONDS="60",
        PMBOT_AUTO_RELOAD="false",  # tests that edit files reload on purpose, unless they test the watcher
        PMBOT_LOG_LEVEL="INFO",
    )
    env = clean_env(**{**defaults, **settings})
    log_path = workdir / "bot.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
    )
    return BotProcess(proc, log_path, env, knowledge, database, log)


def wait_for_log(bot: BotProcess, text: str, *, after: int, timeout: float = EVENT_TIMEOUT) -> str:
    """The bot's log past character ``after`` (``len(bot.log())`` taken before acting), once ``text`` is in it."""
    deadline = time.monotonic() + timeout
    while True:
        tail = bot.log()[after:]
        if text in tail:
            return tail
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not reach the bot's log within {timeout:.0f}s; it says:\n{tail[-3000:]}")
        time.sleep(0.05)


def wait_ready(fake: FakeDiscord, bot: BotProcess, commands: tuple[str, ...] = ("ask",)) -> None:
    """Until the bot has registered its commands and is ready: it then knows (and /kb status shows) its shards."""
    try:
        fake.wait_for_commands(list(commands), timeout=START_TIMEOUT)
        fake.wait_until_connected(timeout=START_TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"the bot did not come up; its log:\n{bot.log()}") from None
    wait_for_log(bot, "connected as ", after=0, timeout=START_TIMEOUT)  # on_ready, after every shard's on_shard_ready


def copy_knowledge(dest: Path) -> Path:
    shutil.copytree(REPO / "knowledge", dest)
    return dest


def cloned_intents(knowledge: Path, copies: int) -> str:
    """Every intent ``copies`` times more, under new ids and wordings: knowledge that takes long to index."""
    intents = [i for f in sorted(knowledge.glob("*.yaml")) for i in (yaml.safe_load(f.read_text()) or {}).get("intents", [])]
    clones = []
    for n in range(copies):
        for intent in intents:
            clones.append({**intent, "id": f"{intent['id']}-c{n}", "follow_ups": [],
                           "phrasings": [f"{p} ({n} {i})" for i, p in enumerate(intent["phrasings"])]})
    return yaml.safe_dump({"intents": clones}, allow_unicode=True)


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (backups included) with its bytes: to show that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- users -------------------------------------------------------------------------------


def add_users(fake: FakeDiscord, count: int) -> None:
    """``count`` plain members "asker0"… (each with a DM channel), and "otherbot", another bot."""
    fake.world.users["otherbot"] = FakeUser(id=next(_user_ids), username="otherbot", bot=True)
    for n in range(count):
        uid = next(_user_ids)
        user = FakeUser(id=uid, username=f"asker{n}", global_name=f"Asker {n}")
        fake.world.users[f"asker{n}"] = user
        fake.world.dm_channels[uid] = FakeChannel(id=uid + 7_000_000, name=f"dm-asker{n}", type=DM, recipient_id=uid)


# -- reading what the bot sent -------------------------------------------------------------


def reply_to(fake: FakeDiscord, message: dict[str, Any], timeout: float = EVENT_TIMEOUT) -> RecordedRequest:
    """The bot's reply (a message referencing ``message``), sent after it."""

    def match(r: RecordedRequest) -> bool:
        ref = (r.json or {}).get("message_reference") if isinstance(r.json, dict) else None
        return r.kind == "message.create" and r.ok and ref is not None and str(ref.get("message_id")) == message["id"]

    return fake.wait_for(match, timeout, since=0, describe=f"a reply to message {message['id']}")


def replies_to(fake: FakeDiscord, message_ids: set[str]) -> list[RecordedRequest]:
    out = []
    for r in fake.sent:
        ref = (r.json or {}).get("message_reference") if isinstance(r.json, dict) else None
        if r.kind == "message.create" and ref is not None and str(ref.get("message_id")) in message_ids:
            out.append(r)
    return out


def settle_with_sentinel(fake: FakeDiscord, channel: str, user: FakeUser) -> None:
    """Proves the bot has handled everything sent before: a later question gets its reply.

    The fake delivers gateway events in order, discord.py dispatches them in order, and the bot decides
    what to do with a message (its author, the cooldown, the match) before its first await: anything it
    sends about an earlier message is on its way before this reply, so "nothing happened" needs no sleep.
    Replies that are expected should be awaited first (``reply_to``, ``wait_replies``).
    """
    sentinel = fake.send_message(channel, "What is project management?", author=user, mentions_bot=True)
    reply_to(fake, sentinel)


def wait_replies(fake: FakeDiscord, message_ids: set[str], count: int, timeout: float = EVENT_TIMEOUT) -> None:
    """Waits until the bot has sent ``count`` replies to the messages ``message_ids``."""
    seen: list[RecordedRequest] = []

    def match(r: RecordedRequest) -> bool:
        ref = (r.json or {}).get("message_reference") if isinstance(r.json, dict) else None
        if r.kind == "message.create" and r.ok and ref is not None and str(ref.get("message_id")) in message_ids:
            seen.append(r)
        return len(seen) >= count

    fake.wait_for(match, timeout, since=0, describe=f"{count} replies to messages {sorted(message_ids)}")


EPHEMERAL = 64


def run_kb(fake: FakeDiscord, sub: str, options: Optional[dict[str, Any]] = None, *, user: Any = None,
           timeout: float = EVENT_TIMEOUT, **kwargs: Any) -> RecordedRequest:
    """``/kb SUB`` (as the Manage Server moderator unless ``user``): its private result, through any deferral."""
    handle = fake.send_slash_command(f"kb {sub}", options, user=user or fake.moderator, **kwargs)
    first = handle.wait_response(timeout=timeout)
    assert first.ok and first.payload["flags"] & EPHEMERAL, f"/kb {sub} must answer privately: {first.summary()}"
    if first.response_type == 5:  # deferred ("thinking…"): the result follows
        return handle.wait_followup(timeout=timeout)
    return first


def ask_title(fake: FakeDiscord, question: str, user: FakeUser) -> str:
    """The title of the bot's reply to a question that mentions it in #general."""
    return embed(reply_to(fake, fake.send_message("general", question, author=user, mentions_bot=True)))["title"]


def embed(request: RecordedRequest) -> dict[str, Any]:
    embeds = request.embeds
    assert len(embeds) == 1, f"expected one embed, got {embeds!r}"
    return embeds[0]


def custom_ids(request_or_message: Any) -> list[str]:
    components = (
        request_or_message.components
        if isinstance(request_or_message, RecordedRequest)
        else request_or_message.get("components") or []
    )
    return [c["custom_id"] for row in components for c in row.get("components", []) if "custom_id" in c]


def assert_no_pings(payload: Optional[dict[str, Any]]) -> None:
    assert payload is not None
    mentions = payload.get("allowed_mentions")
    assert mentions is not None, "no allowed_mentions: Discord would ping whatever the text mentions"
    assert mentions.get("parse") == []
    assert not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user")


def db_rows(database: Path, sql: str, params: tuple[Any, ...] = (), timeout: float = EVENT_TIMEOUT, want: int = 1) -> list[tuple]:
    """Polls the bot's SQLite file (WAL mode: reading never blocks the bot) until ``want`` rows match, or none when
    ``want`` is 0."""
    deadline = time.monotonic() + timeout
    while True:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
            rows = conn.execute(sql, params).fetchall()
        if (len(rows) >= want if want else not rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)
