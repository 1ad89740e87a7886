"""What pmbot's owners review: each server's proposed gaps, near-duplicates grouped, closed once taught."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bot import reports
from bot.store import Scope, SqliteStore, UnansweredQuestion
from tests.conftest import ROOT, clean_env

A, B = 1, 2


async def test_proposals_group_a_servers_wordings_and_keep_servers_apart(tmp_path: Path, matcher) -> None:
    taught = next(iter(matcher.kb.intents.values())).phrasings[0].lower()  # a phrasing: a gap taught since
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        for guild, text, written in ((A, "who hire the gaffer", "Who hires the gaffer?"),
                                     (A, "who hire the gaffer", "who hires the gaffer"),
                                     (A, "who hires the gaffer", "Who hires the gaffer?"),
                                     (B, "who hire the gaffer", "who hires the gaffer??"),
                                     (A, taught, taught)):
            await store.record_unanswered(UnansweredQuestion(datetime.now(timezone.utc), guild, 9, text, "fallback",
                                                             None, 0.0, original_text=written))
        await store.propose({"who hire the gaffer", "who hires the gaffer", taught}, Scope.guild(A), "hiring")
        await store.propose({"who hire the gaffer"}, Scope.guild(B), "crew")

        found = await reports.proposals(store, matcher)
    assert [(p.guild_id, p.intent_id, p.question, p.count) for p in found] == [
        (A, "hiring", "Who hires the gaffer?", 3), (B, "crew", "who hires the gaffer??", 1)]
    assert set(found[0].stored_as) == {"who hire the gaffer", "who hires the gaffer"}


async def test_the_host_lists_proposals_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    async with SqliteStore(db) as store:
        await store.record_unanswered(UnansweredQuestion(datetime.now(timezone.utc), B, 9, "who hire the gaffer",
                                                         "fallback", None, 0.0, original_text="Who hires the gaffer?"))
        await store.propose({"who hire the gaffer"}, Scope.guild(B), "hiring")
    shown = subprocess.run([sys.executable, "-m", "bot", "proposals"], capture_output=True, text=True, cwd=ROOT,
                           env=clean_env(PMBOT_DATABASE=str(db)), timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "1. ×1 “Who hires the gaffer?” as hiring (server 2)" in shown.stdout
