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
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from bot.matching.cache import pack_strings, unpack_strings

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

UNKNOWN = "<unknown>"
# A word in fewer phrasings than this is learned as "a word the knowledge hardly knows": the
# off-topic examples are full of such words, so a question full of them leans off topic.
MIN_PHRASINGS_PER_WORD = 2
# Inverse strength of the weight penalty: high, because the phrasings are curated, not noisy.
REGULARISATION_C = 50.0
MAX_TRAINING_ROUNDS = 100  # L-BFGS iterations: on ~4,000 phrasings accuracy stops moving after ~50
CONVERGED_GRADIENT = 1e-4


class IntentClassifier:
    """Maps normalised tokens to a probability per label (intent ids and the off-topic label)."""

    def __init__(self, examples: Sequence[tuple[list[str], str]]) -> None:
        phrasing_count = Counter(token for tokens, _ in examples for token in set(tokens))
        self.vocabulary = frozenset(t for t, c in phrasing_count.items() if c >= MIN_PHRASINGS_PER_WORD)
        self.labels = list(dict.fromkeys(label for _, label in examples))
        grams = [self._grams(tokens) for tokens, _ in examples]
        gram_count = Counter(g for gs in grams for g in set(gs))
        # Word pairs seen once are one phrasing's wording, not a pattern: only single words may be that rare.
        kept = sorted(g for g, c in gram_count.items() if c >= MIN_PHRASINGS_PER_WORD or " " not in g)
        self.column = {g: i for i, g in enumerate(kept)}
        self.idf = [math.log((1 + len(examples)) / (1 + gram_count[g])) + 1 for g in kept]
        from scipy.sparse import csr_matrix  # training only: a start from the index cache never needs SciPy

        vectors = [self._tfidf(g) for g in grams]
        features = csr_matrix(
            (
                np.concatenate([values / _length(values) for _, values in vectors]),
                np.fromiter((c for columns, _ in vectors for c in columns), dtype=np.intp),
                np.cumsum([0] + [len(columns) for columns, _ in vectors]),
            ),
            shape=(len(vectors), len(kept)),
        )
        target = np.array([self.labels.index(label) for _, label in examples])
        self.weights, self.bias = _fit(features, target, len(self.labels))

    def state(self) -> dict[str, np.ndarray]:
        """What training learned, as arrays for the index cache."""
        return {
            "vocabulary": pack_strings(sorted(self.vocabulary)),
            "labels": pack_strings(self.labels),
            "grams": pack_strings(list(self.column)),
            "idf": np.asarray(self.idf, dtype=np.float64),
            "weights": self.weights,
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
        self.weights, self.bias = state["weights"], state["bias"]
        if self.weights.shape != (len(self.column), len(self.labels)) or self.bias.shape != (len(self.labels),):
            raise ValueError(f"classifier weights of shape {self.weights.shape} do not fit the stored grams and labels")
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
        logits = (values @ self.weights[columns]) / _length(values) + self.bias
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()


def _length(values: np.ndarray) -> float:
    return math.sqrt(float(values @ values)) or 1.0


def _fit(features: csr_matrix, target: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """L2-penalised multinomial logistic regression (the bias unpenalised)."""
    n, d = features.shape
    onehot = np.zeros((n, classes), dtype=np.float32)
    onehot[np.arange(n), target] = 1.0
    transposed = features.T.tocsr()

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = flat[: d * classes].reshape(d, classes), flat[d * classes :]
        logits = features @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(onehot * log_p).sum() + (weights**2).sum() / (2 * REGULARISATION_C)
        error = np.exp(log_p) - onehot
        grad_w = transposed @ error + weights / REGULARISATION_C
        return float(value), np.concatenate([grad_w.ravel(), error.sum(axis=0)])

    solved = _lbfgs(loss, np.zeros(d * classes + classes, dtype=np.float32))
    return solved[: d * classes].reshape(d, classes), solved[d * classes :]


def _lbfgs(loss: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, memory: int = 10) -> np.ndarray:
    """Limited-memory BFGS with a backtracking line search.

    Written out because SciPy's L-BFGS-B spends most of its time on bound
    handling that this unbounded problem does not need (3x slower here).
    """
    value, grad = loss(x)
    steps: list[tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, 1 / y·s), oldest first
    for _ in range(MAX_TRAINING_ROUNDS):
        direction = grad.copy()
        alphas = []
        for s, y, rho in reversed(steps):
            alpha = rho * float(s @ direction)
            direction -= alpha * y
            alphas.append(alpha)
        if steps:
            s, y, _ = steps[-1]
            direction *= float(s @ y) / float(y @ y)
        else:
            direction /= max(1.0, float(np.linalg.norm(grad)))
        for (s, y, rho), alpha in zip(steps, reversed(alphas)):
            direction += s * (alpha - rho * float(y @ direction))
        slope = -float(grad @ direction)
        step = 1.0
        while True:
            candidate = x - step * direction
            new_value, new_grad = loss(candidate)
            if new_value <= value + 1e-4 * step * slope or step < 1e-6:
                break
            step /= 2
        s, y = candidate - x, new_grad - grad
        if (curvature := float(s @ y)) > 1e-10:
            steps = [*steps[-(memory - 1) :], (s, y, 1.0 / curvature)]
        x, value, grad = candidate, new_value, new_grad
        if float(np.abs(grad).max()) < CONVERGED_GRADIENT:
            break
    return x
