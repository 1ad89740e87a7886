"""`pmbot migrate-store`: an operator moves a bot's SQLite database to PostgreSQL, as the README says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.postgres_store import PostgresStore
from bot.store import EVERYWHERE, GuildSettings, ReplyCount, Scope, SqliteStore, UnansweredQuestion
from tests.conftest import ROOT, clean_env

T0 = datetime(2026, 11, 1, 9, 30, 0, 123456, tzinfo=timezone.utc)
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
# A test here runs up to four pmbot processes, each loading the matcher: on a 2-core machine busy with
# other work that is minutes, not the seconds it is on an idle one.
pytestmark = pytest.mark.timeout(600)


CHAT = UnansweredQuestion(T0, 111, 5, "anyone here", "fallback", None, 0.0)  # dismissed by server 111's moderators


def pmbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          env=clean_env(**env), timeout=300)


async def fill(db: Path) -> None:
    async with SqliteStore(db, store_user_ids=True) as store:
        for n, guild in enumerate((111, 222, None)):
            await store.record_unanswered(UnansweredQuestion(
                T0 + timedelta(minutes=n), guild, 5, f"what is a thing number {n}", "downvoted" if n == 2 else "fallback",
                "intent-2" if n == 2 else None, 12.5,
                user_id=900 + n, follows="product-manager-salary" if n == 1 else None, message_id=600 + n if n else None))
            await store.record_vote(n, 7, f"intent-{n}", -1 if n else 1, guild_id=guild)
        await store.save_guild_settings(GuildSettings(111, help_channels=frozenset({1, 2}), moderator_roles=frozenset(),
                                                      cooldown_rate=3, cooldown_seconds=20.0,
                                                      help_channel_suggestions=False, help_channel_threads=True,
                                                      weekly_digest=True,
                                                      answer_notes=(("roadmap", "Read #pm-books ☕"),)))
        await store.claim_digest(111, T0, timedelta(days=7))
        await store.propose({"what is a thing number 1"}, Scope.guild(222), "intent-1")
        await store.record_unanswered(CHAT)
        await store.dismiss_questions({CHAT.text}, Scope.guild(111))
        await store.add_reply_counts([ReplyCount(111, date(2026, 11, 1), "answer", "intent-0", 4),
                                      ReplyCount(222, date(2026, 11, 2), "fallback", "", 2)])


async def everything(store: Any) -> tuple[Any, ...]:
    return (await store.unanswered(EPOCH, EVERYWHERE), await store.feedback_summary(EPOCH, EVERYWHERE),
            await store.all_guild_settings(), await store.reply_totals(EPOCH.date(), Scope(None)), await store.proposals())


async def test_migrate_store_copies_every_row_once(tmp_path: Path, postgres_url: str) -> None:
    db = tmp_path / "data" / "pmbot.sqlite3"
    await fill(db)

    out = pmbot("migrate-store", "--to", postgres_url, PMBOT_DATABASE=str(db))
    assert out.returncode == 0, out.stderr
    assert ("Copied 3 unanswered questions, 3 feedback votes, 1 server settings, 2 daily reply counts, 1 digest dates,"
            " 1 dismissed questions" in out.stdout)

    async with SqliteStore(db, store_user_ids=True) as before, PostgresStore(postgres_url, store_user_ids=True) as after:
        assert await everything(after) == await everything(before)
        assert [q.user_id for q in await after.unanswered(EPOCH, EVERYWHERE)] == [900, 901, 902]
        assert not await after.claim_digest(111, T0 + timedelta(days=1), timedelta(days=7)), "no second digest that week"
        await after.record_unanswered(CHAT)
        assert await everything(after) == await everything(before), "what server 111 dismissed stays dismissed"

    # The bot's own reports read the same from either database.
    gaps_sqlite = pmbot("gaps", "--json", "--days", "3650", PMBOT_DATABASE=str(db))
    gaps_postgres = pmbot("gaps", "--json", "--days", "3650", PMBOT_DATABASE_URL=postgres_url, PMBOT_DATABASE=str(tmp_path / "none.db"))
    assert gaps_postgres.returncode == 0, gaps_postgres.stderr
    assert json.loads(gaps_postgres.stdout) == json.loads(gaps_sqlite.stdout) != []
    stats_sqlite = pmbot("stats", "--json", "--days", "3650", PMBOT_DATABASE=str(db))
    stats_postgres = pmbot("stats", "--json", "--days", "3650", PMBOT_DATABASE_URL=postgres_url, PMBOT_DATABASE=str(tmp_path / "none.db"))
    assert stats_postgres.returncode == 0, stats_postgres.stderr
    assert json.loads(stats_postgres.stdout) == json.loads(stats_sqlite.stdout)
    assert json.loads(stats_sqlite.stdout)["replies"] == 6

    again = pmbot("migrate-store", PMBOT_DATABASE=str(db), PMBOT_DATABASE_URL=postgres_url)
    assert again.returncode == 1
    assert "already holds 11 pmbot rows" in again.stderr
    async with PostgresStore(postgres_url) as after:
        assert len(await after.unanswered(EPOCH, EVERYWHERE)) == 3  # nothing doubled
        assert await after.forget_questions({601}) == 1  # a message deleted after the move still takes its row


def test_migrate_store_says_what_is_missing(tmp_path: Path, postgres_url: str) -> None:
    no_target = pmbot("migrate-store", PMBOT_DATABASE=str(tmp_path / "x.sqlite3"))
    assert no_target.returncode == 2 and "--to postgresql://" in no_target.stderr
    no_source = pmbot("migrate-store", "--from", str(tmp_path / "missing.sqlite3"), "--to", postgres_url)
    assert no_source.returncode == 1 and "no SQLite database at" in no_source.stderr
