"""What an unanswered question becomes in the store: shared by Discord and the console."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.matching import MatchResult
from bot.matching.matcher import NOT_ABOUT
from bot.store import UnansweredQuestion


def unanswered(
    result: MatchResult, *, guild_id: int | None = None, channel_id: int | None = None, user_id: int | None = None,
    message_id: int | None = None,
) -> UnansweredQuestion | None:
    """None for answered questions and for empty ones (nothing to learn from)."""
    if result.kind == "answer" or not result.normalised.strip():
        return None
    best = next((c for c in result.candidates if c.intent_id != NOT_ABOUT), None)
    return UnansweredQuestion(
        asked_at=datetime.now(timezone.utc),
        guild_id=guild_id,
        channel_id=channel_id,
        text=result.normalised,
        kind=result.kind,
        best_intent=best.intent_id if best else None,
        score=float(best.score) if best else 0.0,
        user_id=user_id,
        original_text=result.question,
        follows=result.follows,
        message_id=message_id,
    )
