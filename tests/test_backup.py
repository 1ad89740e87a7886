"""`pmbot backup`: a whole copy of the SQLite database, taken while the bot writes to it, and nothing half-written."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from bot.store import EVERYWHERE, SqliteStore, UnansweredQuestion
from tests.test_cli import pmbot

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def asked(n: int) -> UnansweredQuestion:
    return UnansweredQuestion(datetime.now(timezone.utc), 1, 2, f"how do i calibrate frobnicator {n}", "fallback", None, 0)


async def test_a_backup_taken_while_the_bot_writes_holds_every_committed_row(tmp_path: Path) -> None:
    db, dest = tmp_path / "pmbot.sqlite3", tmp_path / "backups" / "pmbot-today.sqlite3"
    async with SqliteStore(db) as running:  # the bot's own connection, open throughout
        for n in range(40):
            await running.record_unanswered(asked(n))
        await running.record_vote(1, 2, "scope-creep", -1, guild_id=1)
        assert Path(f"{db}-wal").stat().st_size > 0, "the latest writes are in the WAL, which copying the file misses"

        backup = await asyncio.to_thread(pmbot, "backup", str(dest), env={"PMBOT_DATABASE": str(db)})
        assert backup.returncode == 0, backup.stderr
        assert "Backed up 40 unanswered questions, 1 feedback votes" in backup.stdout
        await running.record_unanswered(asked(40))  # the bot goes on writing

    async with SqliteStore(dest) as restored:
        assert [q.text for q in await restored.unanswered(EPOCH, EVERYWHERE)] == [asked(n).text for n in range(40)]
        assert len(await restored.feedback_summary(EPOCH, EVERYWHERE)) == 1
    assert not list(dest.parent.glob("*.partial"))


async def test_a_backup_replaces_the_file_whole_and_a_failed_one_leaves_it(tmp_path: Path) -> None:
    db, dest = tmp_path / "pmbot.sqlite3", tmp_path / "backup.sqlite3"
    async with SqliteStore(db) as store:
        await store.record_unanswered(asked(1))
    env = {"PMBOT_DATABASE": str(db)}
    assert pmbot("backup", str(dest), env=env).returncode == 0
    async with SqliteStore(db) as store:
        await store.record_unanswered(asked(2))
    assert "Backed up 2 unanswered questions" in pmbot("backup", str(dest), env=env).stdout, "yesterday's is replaced"
    kept = dest.read_bytes()

    missing = pmbot("backup", str(dest), env={"PMBOT_DATABASE": str(tmp_path / "nowhere.sqlite3")})
    assert missing.returncode == 1 and "no SQLite database at" in missing.stderr
    itself = pmbot("backup", str(db), env=env)
    assert itself.returncode == 1 and "is the database itself" in itself.stderr
    assert dest.read_bytes() == kept


def test_a_postgresql_bot_is_told_to_use_pg_dump(tmp_path: Path) -> None:
    out = pmbot("backup", str(tmp_path / "b.sqlite3"), env={"PMBOT_DATABASE_URL": "postgresql://pmbot:s3cret@db/pmbot"})
    assert out.returncode == 1 and "pg_dump" in out.stderr and "s3cret" not in out.stderr
    assert not (tmp_path / "b.sqlite3").exists()
