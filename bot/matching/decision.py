"""How sure the bot is that an intent answers a question: one learned rule over all the signals.

Each signal alone misleads somewhere: shared words miss rewordings, the embedding
finds "close enough" meanings for off-topic chat, the classifier is overconfident
on short messages, the meaning classifier (meaning.py) misses the one word that
decides between two close intents. A logistic regression over them all, fitted on labelled
questions by bench/fit_decision.py, gives one probability per intent that the
intent is the right answer. The bot answers at or above ANSWER_PROBABILITY and
suggests from SUGGEST_PROBABILITY (thresholds.py, where the fitted numbers live).
Because the rule reads relative signals (leads over the runner-up, probabilities)
rather than raw counts, adding intents or phrasings does not shift it; after a
large knowledge edit, re-run the fit script and commit what it writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from bot.matching import thresholds as T


@dataclass(frozen=True)
class Signals:
    """What the matcher knows about one intent for one question. Scores run 0-1."""

    lexical: float  # the word-level score (matcher.py's blend of overlap, wording, shape, coverage, classifier)
    lexical_lead: float  # lexical minus the best other intent's (the off-topic examples count as one)
    learned: float  # the classifier's probability for this intent, discounted for words it never saw
    off_topic: float  # the classifier's probability that the question is off topic
    read: float  # share of the question's word weight made of words the knowledge knows
    off_topic_lexical: float  # the off-topic examples' lexical score, as if they were an intent
    similarity: float = 0.0  # cosine of the embeddings: question and this intent's nearest phrasing
    similarity_lead: float = 0.0  # similarity minus the best other intent's (off-topic examples included)
    off_topic_similarity: float = 0.0  # cosine to the nearest off-topic example
    meaning: float = 0.0  # the meaning classifier's probability for this intent (meaning.py)
    meaning_off_topic: float = 0.0  # the meaning classifier's probability that the question is off topic
    agreement: float = 0.0  # share of the views (words, nearest cosine, meaning classifier) that put this intent first

    def vector(self) -> tuple[float, ...]:
        # Not dataclasses.astuple: it deep-copies every field, a tenth of a question's time in Python.
        return tuple(getattr(self, name) for name in FEATURES)


FEATURES = tuple(f.name for f in fields(Signals))
LEXICAL_FEATURES = FEATURES[:6]  # without the model, the rule fitted on these alone applies


def thresholds(semantic: bool) -> tuple[float, float]:
    """The answer and suggest thresholds, in % of the fitted chance, for the rule in use."""
    if semantic:
        return 100 * T.ANSWER_PROBABILITY, 100 * T.SUGGEST_PROBABILITY
    return 100 * T.ANSWER_PROBABILITY_LEXICAL, 100 * T.SUGGEST_PROBABILITY_LEXICAL


def answer_probability(signals: Signals, semantic: bool) -> float:
    """The fitted chance that this intent is the right answer to the question."""
    weights = T.BLEND_SEMANTIC if semantic else T.BLEND_LEXICAL
    names = FEATURES if semantic else LEXICAL_FEATURES
    z = weights["bias"] + sum(weights[name] * value for name, value in zip(names, signals.vector()))
    return 1.0 / (1.0 + math.exp(-z))
