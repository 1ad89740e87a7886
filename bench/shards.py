"""Messages answered per second per bot process, through the fake Discord: SQLite against PostgreSQL.

    python bench/shards.py [--messages N] [--json]

Three set-ups in one run, each a real ``python -m bot run`` against the fake
Discord on loopback, and a throwaway PostgreSQL server (tests/postgres_server.py):

- ``sqlite``: one process, its SQLite file (the embedded default);
- ``postgres``: one process on PostgreSQL;
- ``postgres-2-shards``: two processes, shards 0 and 1 of 2, one guild each, one PostgreSQL.

Every process gets the same questions: half answered from the shipped
knowledge's own phrasings, half questions it cannot answer (each of those is
a database write, like in a real server). All are sent at once, each
mentioning the bot, and the clock stops at the last reply. Numbers depend on
the machine; the report names it by its core count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

from e2e_support import add_users, copy_knowledge, reply_to, run_cli, start_bot  # noqa: E402
from fake_discord import FakeDiscord, FakeUser  # noqa: E402

from bot.knowledge import load_knowledge  # noqa: E402
from tests.conftest import clean_env  # noqa: E402
from tests.postgres_server import ThrowawayPostgres  # noqa: E402

GUILD_B_ID = 1_300_000_000_000_000_000  # shard 0 of 2; the fake's first guild is on shard 1
GAP_TOPICS = ["zeppelin", "submarine", "sourdough", "harpsichord", "glacier", "volcano", "lighthouse", "orchard"]


def questions(count: int, rng: random.Random) -> list[str]:
    phrasings = [p for intent in load_knowledge(ROOT / "knowledge").intents.values() for p in intent.phrasings]
    asked = []
    for n in range(count):
        if n % 2:
            asked.append(rng.choice(phrasings))
        else:
            asked.append(f"how do I fix the {rng.choice(GAP_TOPICS)} number {n} in my garden?")
    return asked


def world(fake: FakeDiscord, senders: int) -> None:
    add_users(fake, senders)
    members = {fake.world.users[f"asker{n}"]: () for n in range(senders)}
    owner = FakeUser(id=GUILD_B_ID + 1, username="b-owner")
    fake.world.users["b_owner"] = owner
    fake.add_guild("Guild B", guild_id=GUILD_B_ID, owner=owner, members=members, channel_names=("b-general",))


def measure(database_env: dict[str, str], shard_count: int | None, asked: list[str], workdir: Path) -> dict[str, Any]:
    """Starts the processes, asks every one of them ``asked`` at once, returns each one's rate."""
    fake = FakeDiscord(recommended_shards=shard_count or 1).start()
    senders = 20
    world(fake, senders)
    knowledge = copy_knowledge(workdir / "knowledge")
    env = {"PMBOT_COOLDOWN_RATE": "100000", "PMBOT_DEV_GUILD": "", "PMBOT_LOG_LEVEL": "WARNING", **database_env}
    base = clean_env(DISCORD_TOKEN="fake-token", DISCORD_API_BASE=fake.api_base, DISCORD_GATEWAY_URL=fake.gateway_url,
                     PMBOT_KNOWLEDGE=str(knowledge), **env)
    synced = run_cli(["sync"], base, cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    shards = range(shard_count) if shard_count else [None]
    processes = []
    try:
        for shard in shards:
            extra = {"PMBOT_SHARD_COUNT": str(shard_count), "PMBOT_SHARD_IDS": str(shard)} if shard_count else {}
            processes.append(start_bot(fake, workdir / f"bot{shard}", knowledge, **env, **extra))
        fake.wait_until_shards_connected(shard_count or 1, timeout=120)
        time.sleep(3)  # discord.py's guild_ready_timeout: let start-up work finish before the clock runs
        channels = {0: "b-general", 1: "general"} if shard_count else {None: "general"}
        users = [fake.world.users[f"asker{n}"] for n in range(senders)]
        started = time.perf_counter()
        sent = [(shard, fake.send_message(channels[shard], q, author=users[i % senders], mentions_bot=True))
                for i, q in enumerate(asked) for shard in shards]
        finished: dict[Any, float] = {}
        for shard, message in sent:
            reply_to(fake, message, timeout=300)
            finished[shard] = time.perf_counter() - started
        return {
            "processes": len(processes),
            "messages_per_process": len(asked),
            "per_process": [round(len(asked) / finished[s], 1) for s in shards],
            "total_per_second": round(len(sent) / max(finished.values()), 1),
        }
    finally:
        for process in processes:
            process.terminate()
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300, help="questions per process (default 300)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    asked = questions(args.messages, random.Random(11))
    postgres = ThrowawayPostgres.start()
    report: dict[str, Any] = {"cores": os.cpu_count(), "messages": args.messages}
    try:
        with tempfile.TemporaryDirectory(prefix="pmbot-bench-") as tmp:
            work = Path(tmp)
            report["sqlite"] = measure({"PMBOT_DATABASE": str(work / "s" / "pmbot.sqlite3")}, None, asked, work / "s")
            report["postgres"] = measure({"PMBOT_DATABASE_URL": postgres.new_database("bench")}, None, asked, work / "p")
            report["postgres-2-shards"] = measure(
                {"PMBOT_DATABASE_URL": postgres.new_database("bench")}, 2, asked, work / "p2")
    finally:
        postgres.stop()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"messages answered per second per process ({args.messages} questions each, half of them gaps; "
          f"{report['cores']} cores)")
    for name in ("sqlite", "postgres", "postgres-2-shards"):
        r = report[name]
        print(f"  {name:18} per process {', '.join(map(str, r['per_process']))}   all processes {r['total_per_second']}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
