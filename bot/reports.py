"""What moderators read about the bot's gaps, feedback and use, and a member's copy of what names them; shared by
the CLI and the Discord commands."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Callable, Iterator, Sequence

from bot.gaps import Gap, cluster_questions
from bot.knowledge import KnowledgeDiff
from bot.knowledge.teach import is_taught
from bot.matching import Matcher
from bot.store import FeedbackSummary, PersonalRecords, Scope, Store, UnansweredQuestion


EVER = 3650  # days: as far back as /kb gaps can look
EVERY = 1_000_000_000  # gaps: all of them
PREVIEW_GAPS = 100  # an upload's preview reads the most asked gaps: a model run each, on the bot's own CPU


@dataclass(frozen=True)
class GapReport:
    example: str
    count: int
    variants: tuple[str, ...]
    best_intent: str | None  # what the bot thought it was closest to, most often
    follows: str | None = None  # the answer its follow-ups were asked after, most often: "what about project managers?"
    latest: str | None = None  # a link to the latest such question's message in a server, to read it in its conversation
    stored_as: tuple[str, ...] = ()  # the variants as the store keeps them (normalised): what dismissing it deletes
    proposed: str | None = None  # the intent this server's moderators proposed it as to pmbot's owners
    downvoted: str | None = None  # the answer it was given and a member voted 👎, most often


@dataclass(frozen=True)
class Proposal:
    """A server's gap its moderators proposed to pmbot's owners, to be taught as ``intent_id``."""

    guild_id: int
    intent_id: str
    question: str  # as people wrote it, its most frequent wording
    count: int
    stored_as: tuple[str, ...]  # the variants as the store keeps them: what teaching or turning it down settles


def message_link(q: UnansweredQuestion) -> str | None:
    """Discord's link to the message a question was asked in; None for /ask, a DM (only its two people could
    open it) and rows from before messages were kept."""
    if q.guild_id is None or q.channel_id is None or q.message_id is None:
        return None
    return f"https://discord.com/channels/{q.guild_id}/{q.channel_id}/{q.message_id}"


def since(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


async def gaps(
    store: Store, days: float, limit: int, scope: Scope, known: Matcher | None = None, *, downvoted_only: bool = False
) -> list[GapReport]:
    """The most frequent unanswered questions within ``scope``, and those whose answer was voted 👎, near-duplicates
    grouped. ``downvoted_only``: those alone, which are seldom asked often enough to lead the list, yet each says an
    answer went wrong.

    With ``known`` (the served knowledge), a gap one of whose wordings has since been taught
    (it is now a phrasing, word for word) is closed: it is left out. Grouped by the normalised
    text (so "PdM?" and "product manager" meet) but shown in the words people used: each variant
    as its most frequent original wording.
    """
    rows = await store.unanswered(since(days), scope)
    if downvoted_only:
        rows = [row for row in rows if row.kind == "downvoted"]
    guesses: dict[str, Counter[str]] = {}
    followed: dict[str, Counter[str]] = {}
    proposed: dict[str, Counter[str]] = {}
    downvoted: dict[str, Counter[str]] = {}
    latest: dict[str, tuple[datetime, str]] = {}
    for row in rows:
        guesses.setdefault(row.text, Counter())[row.best_intent or ""] += 1
        if link := message_link(row):
            latest[row.text] = row.asked_at, link  # rows come oldest first
        if row.follows:
            followed.setdefault(row.text, Counter())[row.follows] += 1
        if row.proposed_intent:
            proposed.setdefault(row.text, Counter())[row.proposed_intent] += 1
        if row.kind == "downvoted" and row.best_intent:
            downvoted.setdefault(row.text, Counter())[row.best_intent] += 1
    as_written = _as_written(rows)

    def most(counts: dict[str, Counter[str]], gap: Gap) -> str | None:
        found = sum((counts.get(v, Counter()) for v in gap.variants), Counter()).most_common(1)
        return found[0][0] if found else None

    reports = []
    for gap in islice(_open(rows, known), limit):  # lazily: only the gaps shown (and any closed before them) are checked
        votes = sum((guesses.get(v, Counter()) for v in gap.variants), Counter())
        best = next((intent for intent, _ in votes.most_common() if intent), None)
        variants = tuple(dict.fromkeys(as_written(v) for v in gap.variants))
        newest = max((latest[v] for v in gap.variants if v in latest), default=None)
        reports.append(GapReport(as_written(gap.example), gap.count, variants, best, most(followed, gap),
                                 newest[1] if newest else None, gap.variants, most(proposed, gap),
                                 most(downvoted, gap)))
    return reports


def newly_answered(found: Sequence[GapReport], matcher: Matcher) -> list[tuple[GapReport, str]]:
    """The gaps that ``matcher`` (knowledge not served yet) would answer, each with the intent it would answer: what
    a change to the knowledge fixes. A voted-down answer given again fixes nothing."""
    fixed = []
    for gap in found:
        result = matcher.match(gap.example)
        if result.kind == "answer" and result.intent_id and result.intent_id != gap.downvoted:
            fixed.append((gap, result.intent_id))
    return fixed


def preview_text(name: str, replaces: bool, diff: KnowledgeDiff, fixed: Sequence[tuple[GapReport, str]], checked: int,
                 days: float) -> str:
    """`pmbot preview`: what putting the file in the knowledge would change, as ``/kb upload preview:True`` says."""
    lines = [f"{name} is valid and would {'replace the file of that name' if replaces else 'be added as a new file'}; "
             "nothing was written.", diff.summary()]
    if not checked:
        lines.append(f"No gaps were recorded in the last {days:g} days to try it on.")
    else:
        lines.append(f"Of the {checked} gaps most asked in the last {days:g} days, it would answer {len(fixed)}:")
        lines += [f"  ×{gap.count} {gap.example} → {intent}" for gap, intent in fixed]
    return "\n".join(lines)


async def every_gap(store: Store, scope: Scope) -> list[GapReport]:
    """Every gap recorded within ``scope``, however old: where a question a moderator picked is looked up."""
    return await gaps(store, EVER, EVERY, scope)


def _as_written(rows: Sequence[UnansweredQuestion]) -> Callable[[str], str]:
    """A stored (normalised) text as people wrote it: its most frequent wording."""
    wordings: dict[str, Counter[str]] = {}
    for row in rows:
        wordings.setdefault(row.text, Counter())[(row.original_text or row.text).strip()] += 1
    return lambda text: wordings[text].most_common(1)[0][0] if text in wordings else text


def _open(rows: Sequence[UnansweredQuestion], known: Matcher | None) -> Iterator[Gap]:
    """The rows' near-duplicates grouped, leaving out any gap one of whose wordings has since been taught."""
    return (
        gap for gap in cluster_questions([row.text for row in rows])
        if known is None or not any(is_taught(known, text) for text in gap.variants)
    )


async def proposals(store: Store, known: Matcher | None = None) -> list[Proposal]:
    """Every server's proposed gaps still open, most asked first: what pmbot's owners review."""
    rows = await store.proposals()
    by_proposal: dict[tuple[int, str], list[UnansweredQuestion]] = {}
    for row in rows:
        assert row.guild_id is not None and row.proposed_intent is not None  # what store.proposals() reads
        by_proposal.setdefault((row.guild_id, row.proposed_intent), []).append(row)
    found = [
        Proposal(guild_id, intent_id, _as_written(group)(gap.example), gap.count, gap.variants)  # the server's words
        for (guild_id, intent_id), group in by_proposal.items()
        for gap in _open(group, known)
    ]
    return sorted(found, key=lambda p: -p.count)


async def feedback(store: Store, days: float, scope: Scope) -> list[FeedbackSummary]:
    return await store.feedback_summary(since(days), scope)


@dataclass(frozen=True)
class UsageReport:
    """How pmbot replied in the servers of a scope: the share of questions it answers, and what it answers most."""

    answered: int
    suggested: int  # offered "Did you mean…"
    unanswered: int  # a fallback reply
    most_answered: list[tuple[str, int]]  # intent ids, most answered first
    up: int  # 👍 and 👎 on answers
    down: int
    answered_before: int = 0  # in as many days just before: whether teaching pmbot moved the share it answers
    replies_before: int = 0

    @property
    def replies(self) -> int:
        return self.answered + self.suggested + self.unanswered

    @property
    def answered_share_before(self) -> str | None:
        """The share answered in the period before; None when pmbot replied to nothing then (or it is past
        retention)."""
        return share(self.answered_before, self.replies_before) if self.replies_before else None


async def usage(store: Store, days: float, scope: Scope, top: int = 10) -> UsageReport:
    """Replies sent since the start of the UTC day ``days`` ago (counts are kept by day), and votes cast since."""
    totals = await store.reply_totals(since(days).date(), scope)
    by_kind: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for (kind, intent_id), n in totals.items():
        by_kind[kind] += n
        if kind == "answer":
            answers[intent_id] += n
    votes = await store.feedback_summary(since(days), scope)
    # The period before is what counting from twice as far back adds (read second, so never less than the first).
    both = await store.reply_totals(since(2 * days).date(), scope)
    return UsageReport(
        by_kind["answer"], by_kind["suggest"], by_kind["fallback"],
        sorted(answers.items(), key=lambda item: (-item[1], item[0]))[:top],
        sum(v.up for v in votes), sum(v.down for v in votes),
        max(0, sum(n for (kind, _), n in both.items() if kind == "answer") - by_kind["answer"]),
        max(0, sum(both.values()) - sum(by_kind.values())),
    )


def share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


def gaps_text(reports: list[GapReport], days: float) -> str:
    if not reports:
        return f"No unanswered questions in the last {days:g} days."
    lines = [f"Most asked unanswered questions (and answers voted 👎), last {days:g} days:"]
    for n, r in enumerate(reports, 1):
        near = f" (closest: {r.best_intent})" if r.best_intent else ""
        near += f" (answered {r.downvoted}, voted 👎)" if r.downvoted else ""
        near += f" (after the answer to {r.follows})" if r.follows else ""
        near += f" (proposed as {r.proposed})" if r.proposed else ""
        more = f" +{len(r.variants) - 1} variants" if len(r.variants) > 1 else ""
        lines.append(f"{n:>2}. ×{r.count} “{r.example}”{near}{more}")
        if r.latest:
            lines.append(f"    latest: {r.latest}")
    return "\n".join(lines)


GAPS_CSV_HEADER = ("asked", "question", "closest_intent", "answered_voted_down", "asked_after", "proposed_as",
                   "latest_message", "wordings")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def gaps_csv(found: Sequence[GapReport], max_bytes: int | None = None) -> tuple[bytes, int]:
    """The gaps as a spreadsheet opens them, most asked first, and how many it holds: with ``max_bytes``, as many as
    fit. UTF-8 with a byte order mark, without which Excel reads it in the machine's own code page.

    Members wrote these questions: a cell that starts like a formula ("=HYPERLINK(…)") is kept as text with a
    leading apostrophe, as OWASP advises against CSV injection, so opening the file runs nothing."""
    lines = [_csv_line(GAPS_CSV_HEADER)]
    size = len(codecs.BOM_UTF8) + len(lines[0].encode())
    for r in found:
        line = _csv_line((r.count, r.example, r.best_intent, r.downvoted, r.follows, r.proposed, r.latest,
                          " | ".join(r.variants)))
        size += len(line.encode())
        if max_bytes is not None and size > max_bytes:
            break
        lines.append(line)
    return codecs.BOM_UTF8 + "".join(lines).encode(), len(lines) - 1


def _csv_line(values: Sequence[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        "'" + v if isinstance(v, str) and v.startswith(_FORMULA_STARTS) else v for v in values)
    return out.getvalue()


def proposals_text(found: list[Proposal]) -> str:
    if not found:
        return "No proposal is waiting."
    lines = ["Proposed by servers' moderators, most asked first (teach one with `pmbot teach QUESTION INTENT_ID`):"]
    lines.extend(f"{n:>2}. ×{p.count} “{p.question}” as {p.intent_id} (server {p.guild_id})" for n, p in enumerate(found, 1))
    return "\n".join(lines)


def usage_text(report: UsageReport, days: float) -> str:
    if not report.replies:
        return f"No replies to questions in the last {days:g} days."
    lines = [
        f"Replies to questions, last {days:g} days: {report.replies}",
        f"  answered              {report.answered:>6}  {share(report.answered, report.replies):>4}",
        f"  offered Did you mean  {report.suggested:>6}  {share(report.suggested, report.replies):>4}",
        f"  not answered          {report.unanswered:>6}  {share(report.unanswered, report.replies):>4}",
        f"Votes on answers: {report.up} up, {report.down} down",
    ]
    if (before := report.answered_share_before) is not None:
        lines.insert(2, f"    ({before} answered in the {days:g} days before)")
    if report.most_answered:
        lines.append("Most answered:")
        lines.extend(f"{n:>8}  {intent_id}" for intent_id, n in report.most_answered)
    return "\n".join(lines)


def feedback_text(rows: list[FeedbackSummary], days: float) -> str:
    if not rows:
        return f"No feedback in the last {days:g} days."
    lines = [f"Answers by share of 👎, last {days:g} days:"]
    for r in rows:
        lines.append(f"  {r.down_share:5.0%} 👎  ({r.down} 👎 / {r.up} 👍)  {r.intent_id}")
    return "\n".join(lines)


def personal_data_json(records: PersonalRecords) -> bytes:
    """A person's copy of what pmbot keeps that names them (/privacy show, `pmbot user-data`), readable without
    pmbot: ids as strings (Discord's own JSON writes them so, as they outgrow a JavaScript number), times in ISO 8601."""
    def snowflake(value: int | None) -> str | None:
        return None if value is None else str(value)

    return json.dumps({
        "votes": [{"server": snowflake(v.guild_id), "answer_message": str(v.message_id), "answer": v.intent_id,
                   "vote": "👍" if v.vote > 0 else "👎", "at": v.voted_at.isoformat()} for v in records.votes],
        "questions": [{"server": snowflake(q.guild_id), "channel": snowflake(q.channel_id),
                       "message": snowflake(q.message_id), "question": q.original_text or q.text,
                       "at": q.asked_at.isoformat()} for q in records.questions],
    }, ensure_ascii=False, indent=2).encode()
