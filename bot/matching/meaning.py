"""A classifier over the phrasings' sentence embeddings: which intent a question means, or that it means none.

The nearest phrasing's cosine (matcher.similarity) says how close a question comes to
one phrasing; it cannot say that "what do you do all day at work" sits among the
off-topic examples as a whole while brushing past one phrasing of an intent. A
multinomial logistic regression (softmax) over all the embeddings at once, the
knowledge's not_about examples being one more class, learns the regions each
intent and off-topic chat occupy: standard intent classification, and much
better than the nearest cosine at telling career chat from a question pmbot answers.

It is trained when the phrasings' embeddings are first made and kept in the index
cache under a key of those embeddings and their labels, so a warm start reads it
back and any change to the knowledge or the model trains it again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from bot.matching.cache import IndexCache, cache_key, code_version, pack_strings, unpack_strings

log = logging.getLogger("pmbot.meaning")

CACHE_KIND = "meaning"
# Inverse strength of the L2 penalty on the weights. Chosen on real-tune.yaml: 1 underfits (top-1 0.83),
# 10 and 100 do alike (0.87, 0.86) but 100 trusts single phrasings more and takes twice as long to train.
REGULARISATION_C = 10.0
# Trained to the optimum in float64, as the word classifier is (training.py says why: the same weights on every CPU).
# About 245 evaluations on ~5,300 texts, 5 s of CPU from nothing; from the served knowledge's weights after a teach,
# about 160 (bench/teach.py, 8 December 2026). The most rounds are a safety net.
CONVERGED = {"ftol": 1e-12, "gtol": 1e-6}
MAX_TRAINING_ROUNDS = 2000
# Each training round costs phrasings × dimensions × labels, so beyond this many labels (as for the word
# classifier, training.py) the softmax would take minutes to hours (10× the knowledge: 470 labels, 28,000
# phrasings). There each label's weights are instead its phrasings' mean direction times CENTROID_SCALE and
# its bias the log of its share of the phrasings: a nearest-centroid softmax, built in one pass.
FULL_MODEL_LABELS = 128
CENTROID_SCALE = 20.0  # cosines to the nearest and the next centroid differ by about 0.1–0.2: logits by 2–4


class MeaningClassifier:
    """Maps a unit-length question embedding to one probability per label (the matcher's intent rows)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        if weights.ndim != 2 or bias.shape != (weights.shape[1],):
            raise ValueError(f"weights {weights.shape} and bias {bias.shape} do not fit together")
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def train(cls, embeddings: np.ndarray, labels: np.ndarray, count: int, start: np.ndarray | None = None) -> MeaningClassifier:
        """L2-penalised softmax regression (bias unpenalised) of `labels` (0…count-1) on the embeddings' rows.

        `start`: weights (dimensions × count, row by row, then the bias) to start from, such as the last knowledge's.
        """
        from scipy.optimize import minimize  # training only: a start from the index cache never needs SciPy

        x = np.asarray(embeddings, dtype=np.float64)
        if count > FULL_MODEL_LABELS:
            return cls._centroids(x, labels, count)
        onehot = np.zeros((len(labels), count), dtype=np.float64)
        onehot[np.arange(len(labels)), labels] = 1.0
        size = x.shape[1] * count

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            weights = flat[:size].reshape(x.shape[1], count)
            logits = x @ weights + flat[size:]
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            error = np.exp(log_p) - onehot
            value = -float((onehot * log_p).sum()) + float((weights**2).sum()) / (2 * REGULARISATION_C)
            grad = np.concatenate([(x.T @ error + weights / REGULARISATION_C).ravel(), error.sum(axis=0)])
            return value, grad

        solved = minimize(loss, np.zeros(size + count) if start is None else start, jac=True, method="L-BFGS-B",
                          options={"maxiter": MAX_TRAINING_ROUNDS, **CONVERGED}).x
        return cls(solved[:size].reshape(x.shape[1], count), solved[size:])

    @classmethod
    def _centroids(cls, x: np.ndarray, labels: np.ndarray, count: int) -> MeaningClassifier:
        sums = np.zeros((count, x.shape[1]), dtype=np.float64)
        np.add.at(sums, labels, x)
        directions = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        share = np.bincount(labels, minlength=count) / max(len(labels), 1)
        return cls(CENTROID_SCALE * directions.T, np.log(np.maximum(share, 1e-12)))

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        """One probability per label for one embedding."""
        # einsum, not @: a BLAS call this small costs more in thread wake-ups than in arithmetic.
        logits = np.einsum("j,jk->k", vector, self.weights) + self.bias
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()


def load_or_train(embeddings: np.ndarray, labels: np.ndarray, names: list[str], cache: IndexCache) -> MeaningClassifier:
    """The classifier for these embeddings and labels (`names`: the labels' intent ids), from the cache when trained before."""
    key = cache_key(
        code_version(),
        hashlib.sha256(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes()).hexdigest(),
        hashlib.sha256(np.asarray(labels, dtype=np.int64).tobytes()).hexdigest(),
        *names,
    )
    if _last is not None and _last.key == key:
        return _last.classifier
    stored = cache.load(CACHE_KIND, key)
    if stored is not None:
        try:
            if stored["weights"].shape != (embeddings.shape[1], len(names)):
                raise ValueError(f"its weights are {stored['weights'].shape}, not {(embeddings.shape[1], len(names))}")
            return _remember(key, names, MeaningClassifier(stored["weights"], stored["bias"]))
        except (KeyError, ValueError) as exc:  # written by a broken or foreign writer
            log.warning("ignoring a damaged meaning classifier in the cache (%s); training again", exc)
    last = _last or _newest(cache)
    start = last.start_for(names, embeddings.shape[1]) if last is not None and len(names) <= FULL_MODEL_LABELS else None
    classifier = MeaningClassifier.train(embeddings, labels, len(names), start)
    cache.save(CACHE_KIND, key, {"weights": classifier.weights, "bias": classifier.bias, "names": pack_strings(names)})
    return _remember(key, names, classifier)


def _newest(cache: IndexCache) -> _Trained | None:
    """The classifier last used from the cache: in a process's first training, what the pmbot before an upgrade trained
    on the same knowledge, or one close to it. None without one, or one stored without its labels' names."""
    stored = cache.newest(CACHE_KIND)
    try:
        names = unpack_strings(stored["names"]) if stored is not None else []
        if not names or len(names) != stored["weights"].shape[-1]:
            return None
        return _Trained("", names, MeaningClassifier(stored["weights"], stored["bias"]))
    except (KeyError, ValueError, UnicodeDecodeError):  # an older pmbot's entry, or a damaged one
        return None


@dataclass(frozen=True)
class _Trained:
    """The last classifier this process trained or read. A second matcher on the same embeddings (a reload that
    changed no phrasing, a check before an upload) reuses it even with no cache on disk; one on changed knowledge (a
    teach, an upload) starts its training from its weights. The penalised loss has one optimum, so the start changes
    how soon training reaches it, not where (IntentClassifier._start_from says the same of the word classifier)."""

    key: str
    names: list[str]
    classifier: MeaningClassifier

    def start_for(self, names: list[str], dimensions: int) -> np.ndarray | None:
        """These weights laid out for `names` (zero for a label it did not know), or None when it knew fewer than half."""
        place = {name: k for k, name in enumerate(self.names)}
        known = [(k, place[name]) for k, name in enumerate(names) if name in place]
        if self.classifier.weights.shape[0] != dimensions or not known or 2 * len(known) < len(names):
            return None
        weights, bias = np.zeros((dimensions, len(names))), np.zeros(len(names))
        ours, theirs = (list(side) for side in zip(*known))
        weights[:, ours] = self.classifier.weights[:, theirs]
        bias[ours] = self.classifier.bias[theirs]
        return np.concatenate([weights.ravel(), bias])


_last: _Trained | None = None


def _remember(key: str, names: list[str], classifier: MeaningClassifier) -> MeaningClassifier:
    global _last
    _last = _Trained(key, list(names), classifier)
    return classifier
