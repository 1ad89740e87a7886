"""The :class:`~bot.store.Store` on PostgreSQL, for several bot processes sharing one database.

SQLite stays the default: one file, no operator. PostgreSQL is for when one
process is not enough (Discord requires sharding from 2,500 servers), and
shard processes on several hosts must see the same questions, votes and
settings. ``PMBOT_DATABASE_URL=postgresql://…`` selects it.

Same tables, same columns, same steps as :data:`bot.store.MIGRATIONS`, each
written in PostgreSQL's dialect (snowflakes as ``BIGINT``, times as
``TIMESTAMPTZ``, id lists as ``BIGINT[]``); a test keeps the two in step.
The applied step count lives in ``pmbot_schema``, the counterpart of SQLite's
``user_version``. Several processes may start at once: migrating takes a
transaction-scoped advisory lock, so exactly one applies the missing steps and
the others wait and find nothing left to do; DDL is transactional here too, so
a failed step leaves the database as it was.

Concurrency: a small asyncpg pool; each write is one transaction on one
connection, so there is no lock of our own to take, and PostgreSQL's MVCC lets
every process read and write at once. Writes are shielded from cancellation
like SQLite's, so a write that started is committed or rolled back, never left
half-way on a pooled connection.

Besides the data, the processes use the database to hear of each other:
:class:`PostgresFleet` (``LISTEN/NOTIFY`` plus a table of live processes).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Collection, Final, Sequence

import asyncpg

from bot.config import redact_url
from bot.store import (
    MIGRATIONS,
    QUESTION_COLUMNS,
    REREAD,
    SCHEMA_VERSION,
    FeedbackSummary,
    GuildSettings,
    PersonalRecords,
    PersonalVote,
    Purged,
    ReplyCount,
    ReplyKind,
    SchemaTooNewError,
    Scope,
    Store,
    StoreClosedError,
    UnansweredQuestion,
    _require_aware,
    _utcnow,
    decode_notes,
    encode_notes,
)

__all__ = ["PG_MIGRATIONS", "PostgresStore", "redact_url"]

log = logging.getLogger(__name__)

#: Step ``n`` here is step ``n`` of :data:`bot.store.MIGRATIONS`, in PostgreSQL's dialect. Append only.
PG_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: questions the bot could not answer confidently.
    (
        """
        CREATE TABLE unanswered_questions (
            id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            asked_at    TIMESTAMPTZ      NOT NULL,
            guild_id    BIGINT,
            channel_id  BIGINT,
            user_id     BIGINT,
            text        TEXT             NOT NULL,
            kind        TEXT             NOT NULL CHECK (kind IN ('suggest', 'fallback')),
            best_intent TEXT,
            score       DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX unanswered_questions_asked_at ON unanswered_questions (asked_at)",
    ),
    # 2: thumbs up / down on answers, one vote per user per message.
    (
        """
        CREATE TABLE feedback_votes (
            message_id BIGINT      NOT NULL,
            user_id    BIGINT      NOT NULL,
            intent_id  TEXT        NOT NULL,
            vote       SMALLINT    NOT NULL CHECK (vote IN (-1, 1)),
            voted_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (message_id, user_id)
        )
        """,
        "CREATE INDEX feedback_votes_voted_at ON feedback_votes (voted_at)",
    ),
    # 3: many servers: votes remember their server, reads by server get indexes, settings a row per server.
    (
        "ALTER TABLE feedback_votes ADD COLUMN guild_id BIGINT",
        "CREATE INDEX unanswered_questions_guild ON unanswered_questions (guild_id, asked_at)",
        "CREATE INDEX feedback_votes_guild ON feedback_votes (guild_id, voted_at)",
        """
        CREATE TABLE guild_settings (
            guild_id         BIGINT PRIMARY KEY,
            help_channels    BIGINT[],
            moderator_roles  BIGINT[],
            mod_log_channel  BIGINT,
            cooldown_rate    INTEGER CHECK (cooldown_rate >= 1),
            cooldown_seconds DOUBLE PRECISION CHECK (cooldown_seconds > 0),
            updated_at       TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    # 4: the question as the user wrote it.
    ("ALTER TABLE unanswered_questions ADD COLUMN original_text TEXT",),
    # 5: the answer a follow-up followed.
    ("ALTER TABLE unanswered_questions ADD COLUMN follows TEXT",),
    # 6: the Discord message a question was asked in.
    (
        "ALTER TABLE unanswered_questions ADD COLUMN message_id BIGINT",
        "CREATE UNIQUE INDEX unanswered_questions_message ON unanswered_questions (message_id)",
    ),
    # 7: whether a server's help channels hear "Did you mean…".
    ("ALTER TABLE guild_settings ADD COLUMN help_channel_suggestions BOOLEAN",),
    # 8: replies sent per server, day, kind and intent.
    (
        """
        CREATE TABLE reply_counts (
            guild_id  BIGINT  NOT NULL,
            day       DATE    NOT NULL,
            kind      TEXT    NOT NULL CHECK (kind IN ('answer', 'suggest', 'fallback')),
            intent_id TEXT    NOT NULL,
            count     INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (guild_id, day, kind, intent_id)
        )
        """,
        "CREATE INDEX reply_counts_day ON reply_counts (day)",
    ),
    # 9: the intent a server's moderator proposed for a question to pmbot's owners.
    (
        "ALTER TABLE unanswered_questions ADD COLUMN proposed_intent TEXT",
        "CREATE INDEX unanswered_questions_proposed ON unanswered_questions (proposed_intent)"
        " WHERE proposed_intent IS NOT NULL",
    ),
    # 10: whether a server's help channel answers go in a thread started on the question.
    ("ALTER TABLE guild_settings ADD COLUMN help_channel_threads BOOLEAN",),
    # 11: an answer a member voted 👎 is a gap too (kind 'downvoted').
    (
        "ALTER TABLE unanswered_questions DROP CONSTRAINT unanswered_questions_kind_check",
        "ALTER TABLE unanswered_questions ADD CONSTRAINT unanswered_questions_kind_check"
        " CHECK (kind IN ('suggest', 'fallback', 'downvoted'))",
    ),
    # 12: whether a server's moderator log gets a weekly digest, and when its last one went out.
    (
        "ALTER TABLE guild_settings ADD COLUMN weekly_digest BOOLEAN",
        "CREATE TABLE digests (guild_id BIGINT PRIMARY KEY, sent_at TIMESTAMPTZ NOT NULL)",
    ),
    # 13: what names one person, found without reading every row.
    (
        "CREATE INDEX feedback_votes_user ON feedback_votes (user_id)",
        "CREATE INDEX unanswered_questions_user ON unanswered_questions (user_id) WHERE user_id IS NOT NULL",
    ),
    # 14: a server's own notes under answers, by topic.
    ("ALTER TABLE guild_settings ADD COLUMN answer_notes JSONB",),
    # 15: the normalised questions a server's moderators dismissed from its gaps list (NULL server: the DMs').
    (
        "CREATE TABLE dismissed_questions (guild_id BIGINT, text TEXT NOT NULL, dismissed_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX dismissed_questions_text ON dismissed_questions (text, guild_id)",
        "CREATE INDEX dismissed_questions_at ON dismissed_questions (dismissed_at)",
    ),
)

# Every process must agree on this number: it names the lock that serialises migrations.
_MIGRATION_LOCK: Final[int] = 0x706D626F74  # "pmbot"


class PostgresStore(Store):
    """The :class:`~bot.store.Store` backed by a PostgreSQL database, through asyncpg.

    Privacy rules are SQLite's: an unanswered question's ``user_id`` is kept
    only with ``store_user_ids=True``; a vote always keeps its voter (one vote
    per user per message). ``clock`` supplies vote and settings timestamps.
    """

    def __init__(
        self,
        url: str,
        *,
        store_user_ids: bool = False,
        clock: Callable[[], datetime] = _utcnow,
        pool_size: int = 5,
    ) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("a PostgreSQL URL starts with postgresql://")
        self._url = url
        self._store_user_ids = store_user_ids
        self._clock = clock
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    @property
    def url(self) -> str:
        return self._url

    @property
    def store_user_ids(self) -> bool:
        return self._store_user_ids

    # -- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Connects and migrates; SchemaTooNewError (changing nothing) for a newer pmbot's database."""
        if self._pool is not None:
            raise RuntimeError("store is already open")
        if len(PG_MIGRATIONS) != len(MIGRATIONS):  # a step added for SQLite only: refuse rather than half-migrate
            raise RuntimeError("this pmbot has a schema step for SQLite that PG_MIGRATIONS lacks; add it there")
        pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self._pool_size)
        try:
            async with pool.acquire() as conn:
                await self._migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        """Waits for connections in use to come back, then closes. Safe to call twice."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS pmbot_schema (version INTEGER NOT NULL)")
            current = await conn.fetchval("SELECT max(version) FROM pmbot_schema") or 0
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(redact_url(self._url), current, SCHEMA_VERSION)
            for number, steps in enumerate(PG_MIGRATIONS[current:], start=current + 1):
                log.info("migrating %s to schema version %d", redact_url(self._url), number)
                for sql in steps:
                    await conn.execute(sql)
            if current < SCHEMA_VERSION:
                await conn.execute("DELETE FROM pmbot_schema")
                await conn.execute("INSERT INTO pmbot_schema (version) VALUES ($1)", SCHEMA_VERSION)

    # -- plumbing ------------------------------------------------------------

    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreClosedError(f"store {redact_url(self._url)!r} is not open")
        return self._pool

    async def _write_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Runs the statements in one committed transaction; returns each one's row count."""
        pool = self.pool()
        return await asyncio.shield(self._write_in(pool, statements))

    @staticmethod
    async def _write_in(pool: asyncpg.Pool, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        async with pool.acquire() as conn:
            if len(statements) == 1:  # one statement is its own transaction: one round trip, not three
                return [_row_count(await conn.execute(statements[0][0], *statements[0][1]))]
            async with conn.transaction():
                return [_row_count(await conn.execute(sql, *params)) for sql, params in statements]

    async def _read(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        return list(await self.pool().fetch(sql, *params))

    # -- unanswered questions -------------------------------------------------

    async def record_unanswered(self, q: UnansweredQuestion) -> None:
        """As SQLite's: words the server's moderators dismissed are not logged, and a message edited into them loses
        its earlier reading."""
        dismissed = ("EXISTS (SELECT 1 FROM dismissed_questions WHERE guild_id IS NOT DISTINCT FROM $2::bigint"
                     " AND text = $5::text)")
        statements: list[tuple[str, Sequence[Any]]] = [(
            "INSERT INTO unanswered_questions (asked_at, guild_id, channel_id, user_id, text, kind, best_intent,"
            " score, original_text, follows, message_id) SELECT $1::timestamptz, $2::bigint, $3::bigint, $4::bigint,"
            " $5::text, $6::text, $7::text, $8::double precision, $9::text, $10::text, $11::bigint"
            f" WHERE NOT {dismissed} ON CONFLICT (message_id) DO UPDATE SET {REREAD}",
            (q.asked_at, q.guild_id, q.channel_id, q.user_id if self._store_user_ids else None,
             q.text, q.kind, q.best_intent, q.score, q.original_text, q.follows, q.message_id),
        )]
        if q.message_id is not None:
            statements.insert(0, (
                "DELETE FROM unanswered_questions WHERE message_id = $1 AND EXISTS (SELECT 1 FROM dismissed_questions"
                " WHERE guild_id IS NOT DISTINCT FROM $2::bigint AND text = $3)",
                (q.message_id, q.guild_id, q.text),
            ))
        await self._write_all(statements)

    async def unanswered(self, since: datetime, scope: Scope) -> list[UnansweredQuestion]:
        """Questions asked at or after ``since`` (aware datetime) within ``scope``, oldest first."""
        where, params = _scope_sql(scope, first=2)
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE asked_at >= $1 AND {where} ORDER BY asked_at, id",
            _require_aware(since, "since"), *params,
        )
        return [UnansweredQuestion(**dict(row)) for row in rows]

    async def forget_questions(self, message_ids: Collection[int]) -> int:
        """Deletes the questions asked in these messages, which their authors or moderators deleted."""
        if not message_ids:
            return 0
        (deleted,) = await self._write_all(
            [("DELETE FROM unanswered_questions WHERE message_id = ANY($1::bigint[])", (sorted(message_ids),))]
        )
        return deleted

    async def dismiss_questions(self, texts: Collection[str], scope: Scope) -> int:
        """As SQLite's: the questions deleted, and their texts kept for the servers they were asked in."""
        if not texts:
            return 0
        wanted = sorted(texts)
        where, params = _scope_sql(scope, first=3)
        _, deleted = await self._write_all([
            ("INSERT INTO dismissed_questions (guild_id, text, dismissed_at) SELECT DISTINCT guild_id, text,"
             f" $1::timestamptz FROM unanswered_questions WHERE text = ANY($2::text[]) AND {where}",
             (_require_aware(self._clock(), "clock()"), wanted, *params)),
            (f"DELETE FROM unanswered_questions WHERE text = ANY($1::text[]) AND {_scope_sql(scope, first=2)[0]}",
             (wanted, *params)),
        ])
        return deleted

    async def propose(self, texts: Collection[str], scope: Scope, intent_id: str | None) -> int:
        """Proposes these questions within ``scope`` to pmbot's owners as ``intent_id``; None withdraws it."""
        if not texts:
            return 0
        where, params = _scope_sql(scope, first=3)
        (changed,) = await self._write_all([(
            f"UPDATE unanswered_questions SET proposed_intent = $1 WHERE text = ANY($2::text[]) AND {where}",
            (intent_id, sorted(texts), *params),
        )])
        return changed

    async def proposals(self) -> list[UnansweredQuestion]:
        """Every server's proposed questions, oldest first."""
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE proposed_intent IS NOT NULL"
            " AND guild_id IS NOT NULL ORDER BY asked_at, id"
        )
        return [UnansweredQuestion(**dict(row)) for row in rows]

    # -- feedback --------------------------------------------------------------

    async def record_vote(
        self, message_id: int, user_id: int, intent_id: str, vote: int, *, guild_id: int | None = None
    ) -> None:
        """Records a 👍 (+1) or 👎 (-1); a user's later vote on a message replaces the earlier one."""
        if isinstance(vote, bool) or vote not in (1, -1):
            raise ValueError(f"vote must be +1 or -1, got {vote!r}")
        if not intent_id:
            raise ValueError("intent_id must not be empty")
        await self._write_all([(
            "INSERT INTO feedback_votes (message_id, user_id, intent_id, vote, voted_at, guild_id)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (message_id, user_id) DO UPDATE SET intent_id = excluded.intent_id,"
            " vote = excluded.vote, voted_at = excluded.voted_at, guild_id = excluded.guild_id",
            (message_id, user_id, intent_id, vote, _require_aware(self._clock(), "clock()"), guild_id),
        )])

    async def withdraw_downvoted(self, question: UnansweredQuestion, answer_id: int) -> bool:
        """As SQLite's: the gap a 👎 made of ``question`` deleted, unless a 👎 is still on the answer."""
        if question.message_id is not None:
            which, params = "message_id = $1", [question.message_id]
        else:
            which = ("message_id IS NULL AND text = $1 AND asked_at = $2 AND guild_id IS NOT DISTINCT FROM $3"
                     " AND channel_id IS NOT DISTINCT FROM $4")
            params = [question.text, _require_aware(question.asked_at, "asked_at"), question.guild_id,
                      question.channel_id]
        (deleted,) = await self._write_all([(
            f"DELETE FROM unanswered_questions WHERE kind = 'downvoted' AND {which}"
            f" AND NOT EXISTS (SELECT 1 FROM feedback_votes WHERE message_id = ${len(params) + 1} AND vote = -1)",
            [*params, answer_id],
        )])
        return deleted > 0

    async def feedback_summary(self, since: datetime, scope: Scope) -> list[FeedbackSummary]:
        """Per-intent vote counts since ``since`` within ``scope``, worst answers first (as SQLite's)."""
        where, params = _scope_sql(scope, first=2)
        rows = await self._read(
            "SELECT intent_id, count(*) FILTER (WHERE vote = 1), count(*) FILTER (WHERE vote = -1)"
            f" FROM feedback_votes WHERE voted_at >= $1 AND {where} GROUP BY intent_id",
            _require_aware(since, "since"), *params,
        )
        summaries = [FeedbackSummary(intent_id, int(up), int(down)) for intent_id, up, down in rows]
        summaries.sort(key=lambda s: (-s.down_share, -s.down, s.intent_id))
        return summaries

    # -- reply counts ------------------------------------------------------------

    async def add_reply_counts(self, counts: Collection[ReplyCount]) -> None:
        """Adds each count to its row, which other processes add to as well."""
        if not counts:
            return
        await self._write_all([
            ("INSERT INTO reply_counts (guild_id, day, kind, intent_id, count) VALUES ($1, $2, $3, $4, $5)"
             " ON CONFLICT (guild_id, day, kind, intent_id) DO UPDATE SET count = reply_counts.count + excluded.count",
             (c.guild_id, c.day, c.kind, c.intent_id, c.count))
            for c in counts
        ])

    async def reply_totals(self, since: date, scope: Scope) -> Counter[tuple[ReplyKind, str]]:
        """Replies sent on ``since`` and after within ``scope``, by kind and intent."""
        where, params = _scope_sql(scope, first=2)
        rows = await self._read(
            f"SELECT kind, intent_id, SUM(count) FROM reply_counts WHERE day >= $1 AND {where} GROUP BY kind, intent_id",
            since, *params,
        )
        return Counter({(kind, intent_id): int(total) for kind, intent_id, total in rows})

    # -- servers -----------------------------------------------------------------

    async def all_guild_settings(self) -> list[GuildSettings]:
        """Every server's stored settings, by guild id."""
        rows = await self._read(
            "SELECT guild_id, help_channels, moderator_roles, mod_log_channel, cooldown_rate, cooldown_seconds,"
            " help_channel_suggestions, help_channel_threads, weekly_digest, answer_notes FROM guild_settings"
            " ORDER BY guild_id"
        )
        return [
            GuildSettings(
                guild_id,
                None if channels is None else frozenset(channels),
                None if roles is None else frozenset(roles),
                mod_log, rate, seconds, suggestions, threads, digest, decode_notes(notes),
            )
            for guild_id, channels, roles, mod_log, rate, seconds, suggestions, threads, digest, notes in rows
        ]

    async def save_guild_settings(self, settings: GuildSettings) -> None:
        """Replaces a server's settings; settings with nothing set delete its row."""
        if settings.is_empty:
            await self._write_all([("DELETE FROM guild_settings WHERE guild_id = $1", (settings.guild_id,))])
            return
        await self._write_all([(
            "INSERT INTO guild_settings (guild_id, help_channels, moderator_roles, mod_log_channel,"
            " cooldown_rate, cooldown_seconds, help_channel_suggestions, help_channel_threads, weekly_digest,"
            " answer_notes, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (guild_id) DO UPDATE SET help_channels = excluded.help_channels,"
            " moderator_roles = excluded.moderator_roles, mod_log_channel = excluded.mod_log_channel,"
            " cooldown_rate = excluded.cooldown_rate, cooldown_seconds = excluded.cooldown_seconds,"
            " help_channel_suggestions = excluded.help_channel_suggestions,"
            " help_channel_threads = excluded.help_channel_threads, weekly_digest = excluded.weekly_digest,"
            " answer_notes = excluded.answer_notes, updated_at = excluded.updated_at",
            (
                settings.guild_id,
                _id_list(settings.help_channels),
                _id_list(settings.moderator_roles),
                settings.mod_log_channel,
                settings.cooldown_rate,
                settings.cooldown_seconds,
                settings.help_channel_suggestions,
                settings.help_channel_threads,
                settings.weekly_digest,
                encode_notes(settings.answer_notes),
                _require_aware(self._clock(), "clock()"),
            ),
        )])

    async def claim_digest(self, guild_id: int, now: datetime, every: timedelta) -> bool:
        """As SQLite's: True for the one caller that records the server's digest as sent at ``now``."""
        now = _require_aware(now, "now")
        [claimed] = await self._write_all([(
            "INSERT INTO digests (guild_id, sent_at) VALUES ($1, $2)"
            " ON CONFLICT (guild_id) DO UPDATE SET sent_at = excluded.sent_at WHERE digests.sent_at <= $3",
            (guild_id, now, now - every),
        )])
        return claimed == 1

    async def release_digest(self, guild_id: int, claimed_at: datetime) -> None:
        """As SQLite's: the claim made at ``claimed_at`` taken back."""
        at = _require_aware(claimed_at, "claimed_at")
        await self._write_all([("DELETE FROM digests WHERE guild_id = $1 AND sent_at = $2", (guild_id, at))])

    async def personal_records(self, user_id: int) -> PersonalRecords:
        votes = await self._read(
            "SELECT message_id, guild_id, intent_id, vote, voted_at FROM feedback_votes WHERE user_id = $1"
            " ORDER BY voted_at, message_id", user_id,
        )
        questions = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE user_id = $1 ORDER BY asked_at, id", user_id
        )
        return PersonalRecords(tuple(PersonalVote(**dict(row)) for row in votes),
                               tuple(UnansweredQuestion(**dict(row)) for row in questions))

    async def forget_person(self, user_id: int) -> Purged:
        """As SQLite's: the person's votes and questions, everywhere, in one transaction."""
        votes, questions = await self._write_all([
            ("DELETE FROM feedback_votes WHERE user_id = $1", (user_id,)),
            ("DELETE FROM unanswered_questions WHERE user_id = $1", (user_id,)),
        ])
        return Purged(questions=questions, votes=votes)

    async def forget_guild(self, guild_id: int) -> Purged:
        """Deletes everything stored about one server, in one transaction."""
        questions, votes, settings, counts, _, dismissed = await self._write_all([
            ("DELETE FROM unanswered_questions WHERE guild_id = $1", (guild_id,)),
            ("DELETE FROM feedback_votes WHERE guild_id = $1", (guild_id,)),
            ("DELETE FROM guild_settings WHERE guild_id = $1", (guild_id,)),
            ("DELETE FROM reply_counts WHERE guild_id = $1", (guild_id,)),
            ("DELETE FROM digests WHERE guild_id = $1", (guild_id,)),
            ("DELETE FROM dismissed_questions WHERE guild_id = $1", (guild_id,)),
        ])
        return Purged(questions, votes, settings, counts, dismissed)

    async def purge_before(self, cutoff: datetime) -> Purged:
        """Deletes questions asked, votes cast (or last changed), replies counted and questions dismissed before
        ``cutoff``."""
        at = _require_aware(cutoff, "cutoff")
        questions, votes, counts, dismissed = await self._write_all([
            ("DELETE FROM unanswered_questions WHERE asked_at < $1", (at,)),
            ("DELETE FROM feedback_votes WHERE voted_at < $1", (at,)),
            ("DELETE FROM reply_counts WHERE day < $1", (at.astimezone(timezone.utc).date(),)),
            ("DELETE FROM dismissed_questions WHERE dismissed_at < $1", (at,)),
        ])
        return Purged(questions, votes, reply_counts=counts, dismissed=dismissed)


def _row_count(status: str) -> int:
    """The count from a command tag: "DELETE 3", "INSERT 0 1" (it comes last)."""
    return int(status.rsplit(" ", 1)[-1])


def _scope_sql(scope: Scope, *, first: int) -> tuple[str, list[Any]]:
    """A condition on ``guild_id`` with its parameters (numbered from ``$first``); an empty scope matches nothing."""
    parts: list[str] = []
    params: list[Any] = []
    if scope.guild_ids is None:
        parts.append("guild_id IS NOT NULL")
    elif scope.guild_ids:
        parts.append(f"guild_id = ANY(${first}::BIGINT[])")
        params.append(sorted(scope.guild_ids))
    if scope.direct_messages:
        parts.append("guild_id IS NULL")
    return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), params


def _id_list(ids: frozenset[int] | None) -> list[int] | None:
    return None if ids is None else sorted(ids)
