"""What a question pmbot did not answer, or answered to a 👎, becomes in the store: shared by Discord and the
console."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.matching import MatchResult
from bot.matching.matcher import NOT_ABOUT
from bot.store import QuestionKind, UnansweredQuestion


def unanswered(
    result: MatchResult, *, guild_id: int | None = None, channel_id: int | None = None, user_id: int | None = None,
    message_id: int | None = None,
) -> UnansweredQuestion | None:
    """None for answered questions and for empty ones (nothing to learn from)."""
    if result.kind == "answer" or not result.normalised.strip():
        return None
    best = next((c for c in result.candidates if c.intent_id != NOT_ABOUT), None)
    return _question(result, result.kind, best.intent_id if best else None, float(best.score) if best else 0.0,
                     guild_id, channel_id, user_id, message_id)


def downvoted(
    result: MatchResult, *, guild_id: int | None, channel_id: int | None, user_id: int | None,
    message_id: int | None = None, asked_at: datetime | None = None,
) -> UnansweredQuestion | None:
    """An answered question as the gap it becomes if a member votes its answer 👎: the knowledge answered it wrongly
    or badly, which the moderators can only mend knowing the question. None for anything but an answer.
    `asked_at`: when it was asked, if not now (a question read again from its message)."""
    if result.kind != "answer" or result.intent_id is None or not result.normalised.strip():
        return None
    return _question(result, "downvoted", result.intent_id, result.score, guild_id, channel_id, user_id, message_id,
                     asked_at)


def _question(
    result: MatchResult, kind: QuestionKind, intent_id: str | None, score: float, guild_id: int | None,
    channel_id: int | None, user_id: int | None, message_id: int | None, asked_at: datetime | None = None,
) -> UnansweredQuestion:
    return UnansweredQuestion(
        asked_at=asked_at or datetime.now(timezone.utc),
        guild_id=guild_id,
        channel_id=channel_id,
        text=result.normalised,
        kind=kind,
        best_intent=intent_id,
        score=score,
        user_id=user_id,
        original_text=result.question,
        follows=result.follows,
        message_id=message_id,
    )
