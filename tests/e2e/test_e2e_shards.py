"""End to end: two bot processes, shards 0 and 1 of 2, over one real PostgreSQL.

The fake Discord has two guilds that fall on different shards (Discord's rule,
``(guild_id >> 22) % shard_count``), so each process serves one of them. The
tests run in file order on the same two processes: questions, gaps, a
``/config`` change that outlives its process, an owner's upload through one
process served by the other, and finally what the database itself holds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import (
    EVENT_TIMEOUT,
    BotProcess,
    add_users,
    copy_knowledge,
    embed,
    reply_to,
    replies_to,
    run_cli,
    run_kb,
    settle_with_sentinel,
    start_bot,
    wait_for_log,
)
from fake_discord import FakeDiscord, FakeUser

from bot.knowledge import load_knowledge
from bot.service import KnowledgeService
from tests.conftest import VALUE_STREAMS, clean_env, warm_service  # VALUE_STREAMS: what the owner uploads
from tests.postgres_server import ThrowawayPostgres

SHARD_COUNT = 2
GUILD_B_ID = 1_300_000_000_000_000_000  # shard 0 of 2; the fake's first guild ("A") is on shard 1
QUESTION_A = "how do I tune the carburettor of a zeppelin?"
QUESTION_B = "how do I paint the hull of a submarine?"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True, recommended_shards=SHARD_COUNT, default_timeout=EVENT_TIMEOUT).start()
    add_users(server, 12)
    world = server.world
    members = {world.users[f"asker{n}"]: () for n in range(6, 12)}
    b_moderator = FakeUser(id=1_300_000_000_000_000_101, username="b-mod")
    b_owner = FakeUser(id=1_300_000_000_000_000_102, username="b-owner")
    world.users.update({"b_moderator": b_moderator, "b_owner": b_owner})
    server.add_guild("Guild B", guild_id=GUILD_B_ID, owner=b_owner, members={**members, b_moderator: ("Staff",)},
                     channel_names=("b-general", "b-help"))
    assert server.shard_of(server.guild_id, SHARD_COUNT) == 1 and server.shard_of(GUILD_B_ID, SHARD_COUNT) == 0
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def database(postgres: ThrowawayPostgres) -> str:
    return postgres.new_database("pmbot_shards")


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one knowledge folder every process shares, as on a shared volume."""
    return copy_knowledge(tmp_path_factory.mktemp("shared") / "knowledge")


@pytest.fixture(scope="module")
def service(knowledge: Path) -> KnowledgeService:
    return warm_service(knowledge)


class Shards:
    """The two bot processes; ``start(i)`` (re)starts shard i's process with the same settings."""

    def __init__(self, fake: FakeDiscord, workdir: Path, knowledge: Path, database: str) -> None:
        self.fake, self.workdir, self.knowledge = fake, workdir, knowledge
        self.env = {
            "PMBOT_DATABASE_URL": database,
            "PMBOT_SHARD_COUNT": str(SHARD_COUNT),
            "PMBOT_DEV_GUILD": "",  # commands are registered globally, as in production
        }
        self.processes: dict[int, BotProcess] = {}

    def start(self, shard: int, folder: str | None = None) -> BotProcess:
        """Starts the process that runs ``shard``, working in ``folder`` (default: the shard's own)."""
        process = start_bot(self.fake, self.workdir / (folder or f"shard{shard}"), self.knowledge,
                            PMBOT_SHARD_IDS=str(shard), **self.env)
        self.processes[shard] = process
        return process

    def wait_connected(self) -> None:
        try:
            self.fake.wait_until_shards_connected(SHARD_COUNT, timeout=EVENT_TIMEOUT)
        except TimeoutError:
            logs = "\n\n".join(f"shard {i}:\n{p.log()[-3000:]}" for i, p in self.processes.items())
            raise AssertionError(f"the shards did not connect; their logs:\n{logs}") from None

    def __getitem__(self, shard: int) -> BotProcess:
        return self.processes[shard]

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()


@pytest.fixture(scope="module")
def shards(fake: FakeDiscord, knowledge: Path, database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shards]:
    workdir = tmp_path_factory.mktemp("shards")
    bots = Shards(fake, workdir, knowledge, database)
    env = clean_env(DISCORD_TOKEN="fake-token", DISCORD_API_BASE=fake.api_base, DISCORD_GATEWAY_URL=fake.gateway_url,
                    PMBOT_KNOWLEDGE=str(knowledge), **bots.env)
    synced = run_cli(["sync"], env, cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    try:
        bots.start(0)
        bots.start(1)
        bots.wait_connected()
        yield bots
    finally:
        bots.stop()


def private_result(fake: FakeDiscord, command: str, options: dict[str, Any] | None, *, user: FakeUser,
                   channel: str) -> Any:
    """A command's private answer, through any deferral."""
    handle = fake.send_slash_command(command, options, user=user, channel_id=channel)
    first = handle.wait_response(timeout=EVENT_TIMEOUT)
    assert first.ok, first.summary()
    return handle.wait_followup(timeout=EVENT_TIMEOUT) if first.response_type == 5 else first


def text_of(result: Any) -> str:
    payload = result.payload or {}
    return "\n".join([payload.get("content") or "", *(e.get("description", "") for e in payload.get("embeds") or [])])


# -- the scenario, in order ----------------------------------------------------------------


def test_each_process_runs_its_own_shard(fake: FakeDiscord, shards: Shards) -> None:
    identified = sorted(tuple(i["shard"]) for i in fake.identifies if "shard" in i)
    assert identified[-2:] == [(0, SHARD_COUNT), (1, SHARD_COUNT)]
    for shard in (0, 1):
        wait_for_log(shards[shard], f"with shard(s) {shard} of {SHARD_COUNT}", after=0, timeout=EVENT_TIMEOUT)


def test_each_guilds_questions_and_dms_are_answered_exactly_once(fake: FakeDiscord, shards: Shards,
                                                         service: KnowledgeService) -> None:
    world = fake.world
    asked = {
        "general": fake.send_message("general", "What is a product manager?", author=world.users["asker0"],
                                     mentions_bot=True),
        "b-general": fake.send_message("b-general", "What is a product manager?", author=world.users["asker6"],
                                       mentions_bot=True),
        "a DM": fake.send_dm("What is a product manager?", author=world.users["asker3"]),  # shard 0's, as on Discord
    }
    expected = service.ask("What is a product manager?").reply.title
    for message in asked.values():
        assert embed(reply_to(fake, message, timeout=EVENT_TIMEOUT))["title"] == expected
    settle_with_sentinel(fake, "general", world.users["asker1"])
    settle_with_sentinel(fake, "b-general", world.users["asker7"])
    for channel, message in asked.items():
        assert len(replies_to(fake, {message["id"]})) == 1, f"the question in {channel} was not answered exactly once"


def test_gaps_show_each_servers_own_questions(fake: FakeDiscord, shards: Shards, service: KnowledgeService) -> None:
    world = fake.world
    for question in (QUESTION_A, QUESTION_B):
        assert service.ask(question).result.kind in ("fallback", "suggest"), "must be a gap to be listed"
    for channel, question, user in (("general", QUESTION_A, "asker2"), ("b-general", QUESTION_B, "asker8")):
        asked = fake.send_message(channel, question, author=world.users[user], mentions_bot=True)
        reply_to(fake, asked, timeout=EVENT_TIMEOUT)

    gaps_a = text_of(run_kb(fake, "gaps", user=fake.moderator, timeout=EVENT_TIMEOUT))  # guild A: shard 1's process
    gaps_b = text_of(private_result(fake, "kb gaps", None, user=world.users["b_moderator"], channel="b-general"))
    assert "zeppelin" in gaps_a and "submarine" not in gaps_a
    assert "submarine" in gaps_b and "zeppelin" not in gaps_b


def test_config_set_through_one_process_survives_its_restart(fake: FakeDiscord, shards: Shards) -> None:
    b_moderator = fake.world.users["b_moderator"]
    before = len(shards[1].log())
    done = private_result(fake, "config cooldown", {"rate": 2, "seconds": 45}, user=b_moderator, channel="b-general")
    assert "2 questions per 45 s" in text_of(done)
    # The other process's settings cache hears of it too.
    wait_for_log(shards[1], "server settings reloaded after a change by another process", after=before,
                 timeout=EVENT_TIMEOUT)

    assert shards[0].terminate() == 0
    shards.start(0)
    shards.wait_connected()
    shown = text_of(private_result(fake, "config show", None, user=b_moderator, channel="b-general"))
    assert "Cooldown (set here): 2 questions per 45 s" in shown


def test_an_owners_upload_through_one_process_is_served_by_the_other(fake: FakeDiscord, shards: Shards,
                                                                     knowledge: Path) -> None:
    before = len(shards[0].log())
    # The application owner uploads in guild A, so shard 1's process installs it.
    result = embed(run_kb(fake, "upload", {"file": fake.attach_file("value-streams.yaml", VALUE_STREAMS.encode())},
                          user=fake.application_owner, timeout=EVENT_TIMEOUT))
    assert result["title"] != "Upload refused", result
    assert (knowledge / "value-streams.yaml").exists()
    wait_for_log(shards[0], "knowledge changed by another process", after=before, timeout=EVENT_TIMEOUT)

    # Guild B is shard 0's: that process answers with the new intent.
    asked = fake.send_message("b-general", "what is value stream mapping?", author=fake.world.users["asker9"], mentions_bot=True)
    assert embed(reply_to(fake, asked, timeout=EVENT_TIMEOUT))["title"] == "What is value stream mapping?"

    version = load_knowledge(knowledge).version
    deadline = time.monotonic() + EVENT_TIMEOUT
    # Each process records its version just after taking the change up, and says nothing once it has (the log
    # line above comes first): nothing to await, so ask again until both rows show it.
    while True:
        status = embed(private_result(fake, "kb status", None, user=fake.world.users["b_moderator"], channel="b-general"))
        processes = next(f["value"] for f in status["fields"] if f["name"].startswith("Processes"))
        if processes.count(f"knowledge `{version}` ✅") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert processes.count(f"knowledge `{version}` ✅") == 2, processes
    assert f"shards 0 of {SHARD_COUNT}" in processes and f"shards 1 of {SHARD_COUNT}" in processes


def test_gaps_are_the_same_whichever_process_serves_the_server(fake: FakeDiscord, shards: Shards) -> None:
    """The processes swap shards: each server's gaps now come through the process that did not record them."""
    shards.stop()
    shards.start(0, folder="shard1")
    shards.start(1, folder="shard0")
    shards.wait_connected()
    gaps_a = text_of(run_kb(fake, "gaps", user=fake.moderator, timeout=EVENT_TIMEOUT))
    gaps_b = text_of(private_result(fake, "kb gaps", None, user=fake.world.users["b_moderator"], channel="b-general"))
    assert "zeppelin" in gaps_a and "submarine" not in gaps_a
    assert "submarine" in gaps_b and "zeppelin" not in gaps_b


def test_the_rows_really_are_in_postgresql(shards: Shards, postgres: ThrowawayPostgres, database: str) -> None:
    def rows(sql: str) -> str:
        return postgres.sql(sql, database)

    assert rows(f"SELECT count(*) FROM unanswered_questions WHERE guild_id = {shards.fake.guild_id}"
                " AND text LIKE '%zeppelin%'") == "1"
    assert rows(f"SELECT count(*) FROM unanswered_questions WHERE guild_id = {GUILD_B_ID}"
                " AND text LIKE '%submarine%'") == "1"
    assert rows(f"SELECT cooldown_rate || ' ' || cooldown_seconds FROM guild_settings WHERE guild_id = {GUILD_B_ID}") == "2 45"
    for shard in (0, 1):  # and nothing went to an SQLite file on the side
        assert not shards[shard].database.exists()
