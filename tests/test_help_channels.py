"""What the bot does unasked in a help channel, and how `eval` counts it."""

from __future__ import annotations

import pytest

from bot.evaluation import LabelledQuestion, evaluate
from bot.help_channels import looks_like_question, replies_unasked
from bot.matching import MatchResult


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what is a product manager", True),
        ("What's the difference?", True),
        ("how do I become a PjM", True),
        ("Explain product management", True),
        ("difference between product and project manager", True),
        ("@everyone what does a product manager do", True),
        ("**what** is scope creep", True),
        ("product managers are great", False),
        ("lol same", False),
        ("thanks!", False),
        ("", False),
        ("😀😀", False),
        ("somewhat unrelated", False),  # "what" inside a word is not a question word
        ("<@123456789> how do I become a PjM", True),
        ("||what|| is scope creep", True),
        ("new sprint planning video https://www.youtube.com/watch?v=abc123", False),  # a link's "?" asks nothing
        ("my query fails:\n```sql\nSELECT * FROM tasks WHERE id = ?\n```", False),  # nor does pasted code's
        ("?help", False),  # another bot's commands
        ("<@123456789> ?rank", False),
        ("!ask what is a PM?", False),
        ("?? what is a PM", True),
        ("...what is a PM?", True),
        (".NET dev here, what does a PM do all day?", True),
    ],
)
def test_looks_like_question(text: str, expected: bool) -> None:
    assert looks_like_question(text) is expected


def result(kind: str, intent: str | None = None, suggestions: tuple[str, ...] = ()) -> MatchResult:
    return MatchResult(kind, "q", "q", intent_id=intent, suggestions=suggestions)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "match, speaks",
    [
        (result("answer", "mvp"), True),
        (result("suggest", suggestions=("mvp", "greeting")), True),
        (result("fallback"), False),
        (result("answer", "greeting"), False),
        (result("answer", "thanks"), False),
        (result("suggest", suggestions=("greeting", "thanks")), False),
    ],
)
def test_a_help_channel_hears_answers_and_offers_but_no_fallback_or_courtesy_alone(match: MatchResult, speaks: bool) -> None:
    assert replies_unasked(match) is speaks
    # A server that turned "Did you mean…" off hears the answers alone.
    assert replies_unasked(match, suggestions=False) is (speaks and match.kind == "answer")


def test_eval_counts_the_chat_a_help_channel_would_get_a_reply_to() -> None:
    """An answer or a "Did you mean…" under a chat line that reads as a question is noise in a help channel;
    the headline's off-topic share counts answers only, wherever they were asked."""
    replies = {
        "what's the best pizza in town?": result("suggest", suggestions=("mvp",)),  # offered: heard there
        "lol that roadmap meme": result("answer", "roadmap-vs-project-plan"),  # answered, but no question: unread there
        "hello everyone, how are you?": result("answer", "greeting"),  # a hello to the room
        "what time is the standup?": result("fallback"),
    }
    # eval warms up on a message of its own first
    report = evaluate([LabelledQuestion(q, None) for q in replies], lambda q: replies.get(q, result("fallback")))
    assert report.oos_false_answer == pytest.approx(2 / 4)
    assert report.oos_help_channel_replies == pytest.approx(1 / 4)
    assert report.by_length["1-12"]["oos_help_channel_replies"] == pytest.approx(1 / 4)
    assert "oos_help_channel_replies 0.250" in report.summary()
