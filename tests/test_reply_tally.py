"""The reply counts behind /kb stats: kept in memory, added to the store in batches, never lost to a busy database."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bot import reports
from bot.reply_tally import ReplyTally
from bot.store import Scope, SqliteStore

GUILD = 123


class RefusingStore(SqliteStore):
    """A database that is busy for one write."""

    refuse = True

    async def add_reply_counts(self, counts):  # type: ignore[no-untyped-def]
        if self.refuse:
            self.refuse = False
            raise ConnectionError("database is busy")
        await super().add_reply_counts(counts)


async def test_counts_reach_the_store_by_day_kind_and_answer_once_each(tmp_path: Path) -> None:
    now = [datetime(2026, 12, 6, 23, 59, tzinfo=timezone.utc)]
    tally = ReplyTally(clock=lambda: now[0])
    tally.count(GUILD, "answer", "scrum")
    tally.count(GUILD, "suggest", "scrum")  # an offer is no answer: not counted under the intent it offered
    tally.count(None, "answer", "scrum")  # a DM: not any server's
    now[0] += timedelta(minutes=2)  # past midnight, UTC
    tally.count(GUILD, "answer", "scrum")
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        await tally.flush(store)
        await tally.flush(store)  # nothing new: nothing added twice
        assert await store.reply_totals(date(2026, 12, 7), Scope.guild(GUILD)) == Counter({("answer", "scrum"): 1})
        assert await store.reply_totals(date(2026, 12, 6), Scope(None, direct_messages=True)) == Counter(
            {("answer", "scrum"): 2, ("suggest", ""): 1})


async def test_counts_the_store_could_not_take_wait_for_the_next_flush(tmp_path: Path) -> None:
    tally = ReplyTally()
    tally.count(GUILD, "fallback", None)
    async with RefusingStore(tmp_path / "db.sqlite3") as store:
        await tally.flush(store)
        assert await store.reply_totals(date(2000, 1, 1), Scope(None)) == Counter()
        tally.count(GUILD, "fallback", None)
        await tally.flush(store)
        assert await store.reply_totals(date(2000, 1, 1), Scope(None)) == Counter({("fallback", ""): 2})


async def test_the_usage_report_reads_a_servers_counts_and_votes(tmp_path: Path) -> None:
    tally = ReplyTally()
    for kind, intent_id in (("answer", "scrum"), ("answer", "scrum"), ("answer", "kanban"), ("fallback", None)):
        tally.count(GUILD, kind, intent_id)  # type: ignore[arg-type]
    tally.count(GUILD + 1, "answer", "gantt")  # another server's
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        await tally.flush(store)
        await store.record_vote(1, 7, "scrum", -1, guild_id=GUILD)
        report = await reports.usage(store, 30, Scope.guild(GUILD))
    assert report == reports.UsageReport(3, 0, 1, [("scrum", 2), ("kanban", 1)], 0, 1)
    assert reports.usage_text(report, 30).splitlines()[:2] == [
        "Replies to questions, last 30 days: 4", "  answered                   3   75%"]


async def test_the_usage_report_compares_the_share_answered_with_as_many_days_before(tmp_path: Path) -> None:
    today = datetime.now(timezone.utc)
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        for days_ago, kinds in ((0, "aaaf"), (40, "afff"), (70, "aaaaa")):  # now, the 30 days before, older still
            tally = ReplyTally(clock=lambda days_ago=days_ago: today - timedelta(days=days_ago))
            for kind in kinds:
                tally.count(GUILD, "answer" if kind == "a" else "fallback", "scrum" if kind == "a" else None)
            await tally.flush(store)
        report = await reports.usage(store, 30, Scope.guild(GUILD))
        quiet_before = await reports.usage(store, 5, Scope.guild(GUILD))
    assert (report.answered, report.replies, report.answered_before, report.replies_before) == (3, 4, 1, 4)
    assert report.answered_share_before == "25%"
    assert "    (25% answered in the 30 days before)" in reports.usage_text(report, 30).splitlines()
    assert quiet_before.answered_share_before is None, "no reply in the 5 days before: nothing to compare"
