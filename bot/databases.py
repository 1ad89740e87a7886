"""Which database a process uses, moving an SQLite database to PostgreSQL (``pmbot migrate-store``), and backing
one up while the bot runs (``pmbot backup``).

SQLite (``PMBOT_DATABASE``, a file) is the default; ``PMBOT_DATABASE_URL``
(``postgresql://…``) selects PostgreSQL, which several shard processes can share.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.config import Settings, redact_url
from bot.postgres_store import PostgresStore
from bot.store import SqliteStore, Store, _decode_flag, _decode_time

log = logging.getLogger(__name__)


def store_from_settings(settings: Settings) -> Store:
    """PostgreSQL when PMBOT_DATABASE_URL is set, else the SQLite file PMBOT_DATABASE (not yet opened)."""
    if settings.database_url:
        return PostgresStore(settings.database_url, store_user_ids=settings.store_user_ids)
    return SqliteStore(settings.database_path, store_user_ids=settings.store_user_ids)


def describe(settings: Settings) -> str:
    """Where the data lives, for messages: the file, or the URL without its password."""
    return redact_url(settings.database_url) if settings.database_url else str(settings.database_path)


@dataclass(frozen=True)
class Copied:
    questions: int
    votes: int
    settings: int
    reply_counts: int
    digests: int = 0
    dismissed: int = 0

    def summary(self) -> str:
        return (f"{self.questions} unanswered questions, {self.votes} feedback votes, {self.settings} server settings,"
                f" {self.reply_counts} daily reply counts, {self.digests} digest dates,"
                f" {self.dismissed} dismissed questions")


class TargetNotEmptyError(RuntimeError):
    """The PostgreSQL database already holds pmbot data; copying again would duplicate questions."""


async def copy_sqlite_to_postgres(source: Path, target_url: str) -> Copied:
    """Copies every row of a pmbot SQLite file into a PostgreSQL database, in one transaction.

    Both are first brought to the current schema by opening them as stores
    (so an old file is migrated on the way). The target must hold no pmbot
    rows yet: a half-done or repeated copy is refused instead of doubling the
    questions. Rows are copied exactly, user ids included where the file kept
    them; question order is kept. Nothing is deleted from the SQLite file.
    """
    if not Path(source).is_file():
        raise FileNotFoundError(f"no SQLite database at {source}")
    async with SqliteStore(source):
        pass  # migrates the file to the current schema
    with closing(sqlite3.connect(f"file:{os.fspath(source)}?mode=ro", uri=True)) as conn:
        questions = conn.execute(
            "SELECT asked_at, guild_id, channel_id, user_id, text, kind, best_intent, score, original_text, follows,"
            " message_id, proposed_intent FROM unanswered_questions ORDER BY id"
        ).fetchall()
        votes = conn.execute(
            "SELECT message_id, user_id, intent_id, vote, voted_at, guild_id FROM feedback_votes"
        ).fetchall()
        settings = conn.execute(
            "SELECT guild_id, help_channels, moderator_roles, mod_log_channel, cooldown_rate, cooldown_seconds,"
            " help_channel_suggestions, help_channel_threads, weekly_digest, answer_notes, updated_at FROM guild_settings"
        ).fetchall()
        reply_counts = conn.execute("SELECT guild_id, day, kind, intent_id, count FROM reply_counts").fetchall()
        digests = conn.execute("SELECT guild_id, sent_at FROM digests").fetchall()
        dismissed = conn.execute("SELECT guild_id, text, dismissed_at FROM dismissed_questions").fetchall()

    def ids(raw: str | None) -> list[int] | None:
        return None if raw is None else [int(v) for v in json.loads(raw)]

    store = PostgresStore(target_url)
    async with store:
        async with store.pool().acquire() as pg, pg.transaction():
            existing = await pg.fetchval(
                "SELECT (SELECT count(*) FROM unanswered_questions) + (SELECT count(*) FROM feedback_votes)"
                " + (SELECT count(*) FROM guild_settings) + (SELECT count(*) FROM reply_counts)"
                " + (SELECT count(*) FROM digests) + (SELECT count(*) FROM dismissed_questions)"
            )
            if existing:
                raise TargetNotEmptyError(
                    f"{redact_url(target_url)} already holds {existing} pmbot rows; migrate into an empty database "
                    "(copying twice would duplicate every question)"
                )
            await pg.executemany(
                "INSERT INTO unanswered_questions"
                " (asked_at, guild_id, channel_id, user_id, text, kind, best_intent, score, original_text, follows,"
                " message_id, proposed_intent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                [(_decode_time(at), *rest) for at, *rest in questions],
            )
            await pg.executemany(
                "INSERT INTO feedback_votes (message_id, user_id, intent_id, vote, voted_at, guild_id)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                [(m, u, i, v, _decode_time(at), g) for m, u, i, v, at, g in votes],
            )
            await pg.executemany(
                "INSERT INTO guild_settings (guild_id, help_channels, moderator_roles, mod_log_channel,"
                " cooldown_rate, cooldown_seconds, help_channel_suggestions, help_channel_threads, weekly_digest,"
                " answer_notes, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [(g, ids(h), ids(r), m, rate, sec, _decode_flag(offer), _decode_flag(threads), _decode_flag(digest),
                  notes, _decode_time(at))
                 for g, h, r, m, rate, sec, offer, threads, digest, notes, at in settings],
            )
            await pg.executemany(
                "INSERT INTO reply_counts (guild_id, day, kind, intent_id, count) VALUES ($1, $2, $3, $4, $5)",
                [(g, date.fromisoformat(day), kind, intent, n) for g, day, kind, intent, n in reply_counts],
            )
            await pg.executemany("INSERT INTO digests (guild_id, sent_at) VALUES ($1, $2)",
                                 [(g, _decode_time(at)) for g, at in digests])
            await pg.executemany("INSERT INTO dismissed_questions (guild_id, text, dismissed_at) VALUES ($1, $2, $3)",
                                 [(g, text, _decode_time(at)) for g, text, at in dismissed])
    copied = Copied(len(questions), len(votes), len(settings), len(reply_counts), len(digests), len(dismissed))
    log.info("copied %s from %s to %s", copied.summary(), source, redact_url(target_url))
    return copied


def backup_sqlite(source: Path, dest: Path) -> Copied:
    """Copies the SQLite database to ``dest``, whole and consistent even while the bot writes to it.

    Copying the file would not do: in WAL mode the latest writes sit in ``-wal`` beside it until a checkpoint, and
    a copy taken mid-write can be torn. sqlite3's online backup API reads a snapshot through SQLite's own locking,
    WAL included, and the bot's writes go on meanwhile. The source is opened read-only, so an old schema is copied
    as it is (the bot migrates it when it opens the copy). The copy is written beside ``dest``, checked with
    ``PRAGMA integrity_check``, then renamed over it: ``dest`` is a whole backup or left as it was.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no SQLite database at {source}")
    if dest.exists() and dest.resolve() == source.resolve():
        raise ValueError(f"{dest} is the database itself; back it up to another file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    try:
        with closing(sqlite3.connect(f"file:{os.fspath(source)}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(partial)) as out:
            src.backup(out)
            checked = out.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {name for (name,) in out.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

            def rows(table: str) -> int:
                return out.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in tables else 0

            copied = Copied(rows("unanswered_questions"), rows("feedback_votes"), rows("guild_settings"),
                            rows("reply_counts"), rows("digests"), rows("dismissed_questions"))
        if checked != "ok":
            raise ValueError(f"the copy of {source} failed SQLite's integrity check ({checked}); {dest} was not written")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    log.info("backed up %s from %s to %s", copied.summary(), source, dest)
    return copied
