"""Why the matcher did what it did: for moderators (/kb why, `python -m bot why`)."""

from __future__ import annotations

from typing import Any

from bot.knowledge import KnowledgeBase
from bot.matching import thresholds as T
from bot.matching.matcher import MatchResult


def explain(kb: KnowledgeBase, result: MatchResult) -> dict[str, Any]:
    """The decision, the thresholds it was taken against, and the top intents with what matched."""
    return {
        "question": result.question,
        "normalised": result.normalised,
        "decision": result.kind,
        "intent": result.intent_id,
        "suggestions": list(result.suggestions),
        "reason": result.reason,
        "reading": result.reading,
        "thresholds": {
            "answer": T.ANSWER_SCORE,
            "answer_on_topic": T.ANSWER_SCORE_ON_TOPIC,
            "margin": T.ANSWER_MARGIN,
            "suggest": T.SUGGEST_SCORE,
            "suggest_on_topic": T.SUGGEST_SCORE_ON_TOPIC,
        },
        # The classifier's view of the question as a whole (the same on every candidate).
        "off_topic": round(result.candidates[0].off_topic, 3) if result.candidates else None,
        "read": round(result.candidates[0].read, 3) if result.candidates else None,
        "candidates": [
            {
                "intent": c.intent_id,
                "title": kb.intents[c.intent_id].title if c.intent_id in kb.intents else c.intent_id,
                "score": c.score,
                "matched": c.matched,
                "overlap": round(c.overlap, 3),
                "wording": round(c.wording, 3),
                "coverage": round(c.coverage, 3),
                "learned": round(c.learned, 3),
            }
            for c in result.candidates[:5]
        ],
    }


def explain_text(report: dict[str, Any]) -> str:
    t = report["thresholds"]
    lines = [
        f"Question:   {report['question']}",
        f"Normalised: {report['normalised']}",
        f"Decision:   {report['decision']}" + (f" → {report['intent']}" if report["intent"] else "")
        + (f" (suggests {', '.join(report['suggestions'])})" if report["suggestions"] else ""),
        f"Why:        {report['reason']}",
        f"Thresholds: answer ≥ {t['answer']:.0f} (≥ {t['answer_on_topic']:.0f} when surely on topic) with a lead of "
        f"≥ {t['margin']:.0f}; suggest ≥ {t['suggest']:.0f} (≥ {t['suggest_on_topic']:.0f} when surely on topic)",
    ]
    if report["off_topic"] is not None:
        lines.append(f"Classifier: {report['off_topic']:.0%} off-topic, {report['read']:.0%} of the words known")
    lines.append("Top intents:")
    for n, c in enumerate(report["candidates"], 1):
        lines.append(f"  {n}. {c['score']:6.1f}  {c['intent']}  ← \"{c['matched']}\"")
    return "\n".join(lines)
