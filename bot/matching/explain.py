"""Why the matcher did what it did: for moderators (/kb why, `python -m bot why`)."""

from __future__ import annotations

from typing import Any

from bot.knowledge import KnowledgeBase
from bot.matching.decision import thresholds
from bot.matching.matcher import MatchResult


def explain(kb: KnowledgeBase, result: MatchResult) -> dict[str, Any]:
    """The decision, the thresholds it was taken against, and the top intents with what matched."""
    semantic = any(c.similarity is not None for c in result.candidates)
    answer_at, suggest_at = thresholds(semantic)
    return {
        "question": result.question,
        "normalised": result.normalised,
        "decision": result.kind,
        "intent": result.intent_id,
        "suggestions": list(result.suggestions),
        "also": list(result.also),
        "reason": result.reason,
        "reading": result.reading,
        "follows": result.follows,
        # Candidate scores are the fitted chance (in %) that the intent is the answer (decision.py).
        "thresholds": {"answer": answer_at, "suggest": suggest_at},
        "semantic": semantic,
        # The classifier's view of the question as a whole (the same on every candidate).
        "off_topic": round(result.candidates[0].off_topic, 3) if result.candidates else None,
        "read": round(result.candidates[0].read, 3) if result.candidates else None,
        "meaning_off_topic": _rounded(result.candidates[0].meaning_off_topic) if result.candidates else None,
        "candidates": [
            {
                "intent": c.intent_id,
                "title": kb.intents[c.intent_id].title if c.intent_id in kb.intents else c.intent_id,
                "score": c.score,
                "words": c.lexical,
                "similarity": None if c.similarity is None else round(c.similarity, 3),
                "meaning": _rounded(c.meaning),
                "matched": c.matched,
                "overlap": round(c.overlap, 3),
                "wording": round(c.wording, 3),
                "coverage": round(c.coverage, 3),
                "learned": round(c.learned, 3),
            }
            for c in result.candidates[:5]
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def explain_text(report: dict[str, Any]) -> str:
    t = report["thresholds"]
    lines = [
        f"Question:   {report['question']}",
        f"Normalised: {report['normalised']}",
        f"Decision:   {report['decision']}" + (f" → {report['intent']}" if report["intent"] else "")
        + (f" (suggests {', '.join(report['suggestions'])})" if report["suggestions"] else "")
        + (f" (also offers {', '.join(report['also'])})" if report["also"] else ""),
        f"Why:        {report['reason']}",
        *([f"After:      the answer to {report['follows']}"] if report.get("follows") else []),
        f"Thresholds: answer when ≥ {t['answer']:.0f}% sure; suggest from {t['suggest']:.0f}%"
        + ("" if report["semantic"] else " (decided by words alone)"),
    ]
    if report["off_topic"] is not None:
        lines.append(f"Classifier: {report['off_topic']:.0%} off-topic, {report['read']:.0%} of the words known")
    if report.get("meaning_off_topic") is not None:
        lines.append(f"Meaning classifier: {report['meaning_off_topic']:.0%} off-topic")
    lines.append("Top intents:")
    for n, c in enumerate(report["candidates"], 1):
        meaning = "" if c["similarity"] is None else f", meaning {c['similarity']:.2f}"
        meaning += "" if c.get("meaning") is None else f", meaning classifier {c['meaning']:.0%}"
        lines.append(f"  {n}. {c['score']:5.1f}%  {c['intent']}  (words {c['words']:.0f}{meaning})  ← \"{c['matched']}\"")
    return "\n".join(lines)
