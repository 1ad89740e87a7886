"""A word-level classifier learned from the knowledge's own phrasings.

Fuzzy matching finds the phrasing a question most resembles; it cannot tell
which of the question's words decide between two close intents ("same job"
against "same person"), nor that "difference between" says little on its own.
A multinomial logistic regression over all the phrasings at once learns
exactly that: how much each word and word pair speaks for each intent, and,
from the off-topic examples, against all of them. It is retrained whenever
the knowledge loads, so editing phrasings is still the only way to teach pmbot.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Collection, Mapping, Sequence

import numpy as np

from bot.matching.cache import pack_strings, unpack_strings
from bot.matching.columns import Columns

UNKNOWN = "<unknown>"
# A word in fewer phrasings than this is learned as "a word the knowledge hardly knows": the
# off-topic examples are full of such words, so a question full of them leans off topic.
MIN_PHRASINGS_PER_WORD = 2


class IntentClassifier:
    """Maps normalised tokens to a probability per label (intent ids and the off-topic label)."""

    def __init__(self, examples: Sequence[tuple[list[str], str]], shared: Collection[str] = (),
                 previous: IntentClassifier | None = None) -> None:
        """`shared`: labels every question may be, whatever its words (off topic), trained against all the others.

        `previous`: the last knowledge's classifier, whose weights training starts from (see _start_from).
        """
        from scipy.sparse import csr_matrix  # training only: a start from the index cache never needs SciPy

        from bot.matching.training import FULL_MODEL_LABELS, fit

        phrasing_count = Counter(token for tokens, _ in examples for token in set(tokens))
        self.vocabulary = frozenset(t for t, c in phrasing_count.items() if c >= MIN_PHRASINGS_PER_WORD)
        self.labels = list(dict.fromkeys(label for _, label in examples))
        grams = [self._grams(tokens) for tokens, _ in examples]
        gram_count = Counter(g for gs in grams for g in set(gs))
        # Word pairs seen once are one phrasing's wording, not a pattern: only single words may be that rare.
        kept = sorted(g for g, c in gram_count.items() if c >= MIN_PHRASINGS_PER_WORD or " " not in g)
        self.column = {g: i for i, g in enumerate(kept)}
        self.idf = [math.log((1 + len(examples)) / (1 + gram_count[g])) + 1 for g in kept]
        vectors = [self._tfidf(g) for g in grams]
        features = csr_matrix(
            (
                np.concatenate([values / _length(values) for _, values in vectors]),
                np.fromiter((c for columns, _ in vectors for c in columns), dtype=np.intp),
                np.cumsum([0] + [len(columns) for columns, _ in vectors]),
            ),
            shape=(len(vectors), len(kept)),
        )
        index = {label: i for i, label in enumerate(self.labels)}
        target = np.array([index[label] for _, label in examples], dtype=np.intp)
        start = None
        if previous is not None and len(self.labels) <= FULL_MODEL_LABELS:  # shortlists train a fixed number of rounds
            start = self._start_from(previous)
        learned = fit(features, target, len(self.labels), [index[label] for label in shared if label in index], start)
        self._set_weights(learned.starts, learned.labels, learned.values, learned.bias)

    def _start_from(self, previous: IntentClassifier) -> np.ndarray | None:
        """The previous classifier's weights laid out for this one's grams and labels (zero where it had none), or None
        when it knew fewer than half of these labels.

        The penalised loss has one optimum, so the start changes how soon training reaches it, not where: after a
        one-phrasing edit (a teach), from the last knowledge's weights in about two thirds of the rounds (186 against
        281, bench/teach.py), and no eval decision moved, no score by more than 0.01 points (8 December 2026).
        """
        count = len(self.labels)
        place = {label: k for k, label in enumerate(self.labels)}
        label_to = np.array([place.get(label, -1) for label in previous.labels], dtype=np.int64)
        if 2 * int((label_to >= 0).sum()) < count:
            return None
        gram_to = np.array([self.column.get(g, -1) for g in previous.column], dtype=np.int64)
        weights = previous.weights
        gram = gram_to[np.repeat(np.arange(len(gram_to)), np.diff(weights.starts))]
        label = label_to[weights.rows]
        kept = (gram >= 0) & (label >= 0)
        start = np.zeros((len(self.column) + 1) * count)
        start[gram[kept] * count + label[kept]] = weights.values[kept]
        start[len(self.column) * count + label_to[label_to >= 0]] = previous.bias[label_to >= 0]
        return start

    def _set_weights(self, starts: np.ndarray, labels: np.ndarray, values: np.ndarray, bias: np.ndarray) -> None:
        self.weights = Columns.from_arrays(starts, labels, values, len(self.labels))  # labels × grams, by gram
        self.bias = bias

    def state(self) -> dict[str, np.ndarray]:
        """What training learned, as arrays for the index cache."""
        return {
            "vocabulary": pack_strings(sorted(self.vocabulary)),
            "labels": pack_strings(self.labels),
            "grams": pack_strings(list(self.column)),
            "idf": np.asarray(self.idf, dtype=np.float64),
            "starts": self.weights.starts,
            "weight_labels": self.weights.rows,
            "weights": self.weights.values,
            "bias": self.bias,
        }

    @classmethod
    def restore(cls, state: Mapping[str, np.ndarray]) -> IntentClassifier:
        """The classifier that produced `state`, without training it again."""
        self = cls.__new__(cls)
        self.vocabulary = frozenset(unpack_strings(state["vocabulary"]))
        self.labels = unpack_strings(state["labels"])
        self.column = {g: i for i, g in enumerate(unpack_strings(state["grams"]))}
        self.idf = state["idf"].tolist()
        starts, labels, values = state["starts"], state["weight_labels"], state["weights"]
        if len(starts) != len(self.column) + 1 or len(labels) != len(values) or state["bias"].shape != (len(self.labels),):
            raise ValueError("the stored classifier weights do not fit its grams and labels")
        if len(labels) and (int(starts[-1]) != len(values) or int(labels.max()) >= len(self.labels)):
            raise ValueError("the stored classifier weights point past its labels")
        self._set_weights(starts, labels, values, state["bias"])
        return self

    def _grams(self, tokens: list[str]) -> list[str]:
        words = [t if t in self.vocabulary else UNKNOWN for t in tokens]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def _tfidf(self, grams: list[str]) -> tuple[list[int], np.ndarray]:
        """Sub-linear tf-idf of the known grams: their columns and values, not yet of unit length."""
        counts = Counter([self.column[g] for g in grams if g in self.column])
        values = [(1 + math.log(n)) * self.idf[c] for c, n in counts.items()]
        return list(counts), np.array(values, dtype=np.float32)

    def probabilities(self, tokens: list[str]) -> np.ndarray:
        """One probability per label, in the order of `labels`."""
        columns, values = self._tfidf(self._grams(tokens))
        # Scaling the logits is scaling the vector to unit length: a long message weighs no more than a short one.
        logits = self.weights.weighted_sum(columns, values) / _length(values) + self.bias
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()


def _length(values: np.ndarray) -> float:
    return math.sqrt(float(values @ values)) or 1.0
