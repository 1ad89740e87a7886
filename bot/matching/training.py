"""Training the intent classifier in time and memory that grow with the knowledge, not with its square.

A full multinomial logistic regression weighs every phrasing against every
intent and keeps a weight for every word and intent: phrasings × intents work
per round and words × intents weights, both quadratic as a knowledge grows
(2 minutes and gigabytes at 28,000 phrasings). Up to FULL_MODEL_LABELS labels
that is what this trains, exactly. Beyond, each phrasing is weighed against a
shortlist of SHORTLIST labels: its own, the ones whose phrasings use the most
similar words (those it could be mistaken for) and the shared ones (off
topic), and a word is weighted only for the labels whose phrasings use it (if
they are few) and for the shared ones. Both then grow with the phrasings alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

import numpy as np
from scipy.linalg import blas
from scipy.sparse import coo_matrix, csr_matrix, diags

FULL_MODEL_LABELS = 128  # up to this many labels (intents + off topic) the model is the full one, as it always was
SHORTLIST = 32  # beyond, the labels a phrasing is weighed against: time and memory grow with it
REGULARISATION_C = 50.0  # inverse strength of the weight penalty: high, because the phrasings are curated, not noisy
# The full model is trained to its optimum, not stopped after a fixed number of rounds: the optimum is one point on
# every CPU, while a stop short of it lands wherever rounding led, and BLAS and NumPy round differently on AVX-512
# and on AVX2. Stopped at 100 rounds, two such CPUs gave one question scores 4 points apart and decided 4 of 17,045
# eval messages differently; at this gradient, none (the journal's forty-seventh session). In float64: float32 sums
# over thousands of phrasings cannot bring the gradient this low. About 280 rounds on ~5,300 texts, 4.5-5 s of CPU
# from nothing; from the served knowledge's weights after a teach, about 190 (bench/teach.py, 8 December 2026).
CONVERGED_GRADIENT = 1e-5
MAX_TRAINING_ROUNDS = 2000  # a safety net: the knowledge's phrasings converge long before
# Over shortlists (a knowledge several times ours), rounds cost so much more that the build's time and memory goals
# (bench/scale.py) keep the float32 training that stops after 100 rounds, where accuracy stops moving; such a
# knowledge's scores may differ between CPUs by rounding.
SHORTLISTED_ROUNDS = 100


@dataclass(frozen=True)
class Learned:
    """The weights by word (gram): gram g's weights are `values[starts[g]:starts[g+1]]` for labels `labels[…]`."""

    starts: np.ndarray
    labels: np.ndarray
    values: np.ndarray
    bias: np.ndarray


def fit(features: csr_matrix, target: np.ndarray, labels: int, shared: Collection[int] = (),
        start: np.ndarray | None = None) -> Learned:
    """L2-penalised multinomial logistic regression (the bias unpenalised), over shortlists beyond FULL_MODEL_LABELS.

    `shared`: label indexes on every shortlist and weighted for every word. `start`: for the full model, weights
    (grams × labels, row by row, then the bias) to start from, such as the last knowledge's.
    """
    problem = _Problem(features.tocsr(), target, labels, shared)
    size, rows = len(problem.keys), len(problem.rivals)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = flat[:size], flat[size:]
        if problem.full:  # every row's shortlist is all labels, in order: the plain product
            logits = problem.logits @ weights.reshape(-1, labels) + bias
        else:
            logits = (problem.logits @ weights).reshape(rows, -1) + bias[problem.rivals]
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(problem.onehot * log_p).sum() + (weights**2).sum() / (2 * REGULARISATION_C)
        error = np.exp(log_p) - problem.onehot
        if problem.full:
            grad = (problem.transposed @ error).ravel() + weights / REGULARISATION_C
            grad_bias = error.sum(axis=0)
        else:
            grad = problem.transposed @ error.ravel() + weights / REGULARISATION_C
            grad_bias = np.zeros(labels, dtype=np.float32)
        return float(value), np.concatenate([grad, grad_bias])

    # Over shortlists, a label seldom on others' shortlists is seldom pushed down, so a learned bias
    # would drift up without end; each label's share of the phrasings is the bias instead.
    if start is None or not problem.full:
        start = np.zeros(size + labels, dtype=problem.onehot.dtype)
        if not problem.full:
            start[size:] = np.log(np.bincount(target, minlength=labels) / len(target))
    solved = _lbfgs(loss, start, MAX_TRAINING_ROUNDS if problem.full else SHORTLISTED_ROUNDS)
    grams, label_of = np.divmod(problem.keys, labels)
    starts = np.concatenate([[0], np.cumsum(np.bincount(grams, minlength=features.shape[1]))])
    return Learned(starts, label_of.astype(np.int32), solved[:size].astype(np.float32), solved[size:].astype(np.float32))


class _Problem:
    """The training set laid out so that one sparse product per round gives every logit.

    The weights are those of the (gram, label) `keys`, sorted. In the full model they are all
    pairs, a grams × labels matrix row by row, and `logits` is the features themselves.
    Otherwise row r × shortlist length + k of `logits` holds phrasing r's features for the
    weights of the k-th label on its shortlist, so `logits @ weights` is every phrasing's
    logit for every label on its shortlist.
    """

    def __init__(self, features: csr_matrix, target: np.ndarray, labels: int, shared: Collection[int]) -> None:
        self.full = labels <= FULL_MODEL_LABELS
        if self.full:
            self.keys = np.arange(features.shape[1] * labels)
            self.logits, self.transposed = features, features.T.tocsr()
            self.rivals = np.broadcast_to(np.arange(labels), (len(target), labels))
            self.onehot = (self.rivals == target[:, None]).astype(np.float64)
            return
        shortlists = _shortlists(features, target, labels, shared)
        width = len(shortlists[0])
        owners: dict[bytes, list[int]] = {}
        for label, shortlist in enumerate(shortlists):
            owners.setdefault(shortlist.tobytes(), []).append(label)
        by_label = np.split(np.argsort(target, kind="stable"), np.cumsum(np.bincount(target, minlength=labels))[:-1])
        # grams × labels: 1 + the index of the (gram, label) weight. A label is weighted for the words its
        # phrasings use, unless more labels use a word than a shortlist holds: such a word ("what is") says
        # nothing about which of them is meant, and weights learned against different shortlists would
        # make it say something at random. The shared labels are weighted for every word.
        uses = csr_matrix((np.ones(len(target)), (target, np.arange(len(target)))), shape=(labels, len(target))) @ features
        uses = (uses != 0).astype(np.float32)
        uses = uses @ diags((np.asarray(uses.sum(axis=0)).ravel() <= SHORTLIST).astype(np.float32))
        width_all = features.shape[1]
        everything = csr_matrix(  # the shared labels, weighted for every word
            (np.ones(len(shared) * width_all), (np.repeat(list(shared), width_all), np.tile(np.arange(width_all), len(shared)))),
            shape=(labels, width_all),
        )
        table = ((uses != 0) + (everything != 0)).T.tocsr()
        table.sort_indices()
        self.keys = np.repeat(np.arange(table.shape[0]), np.diff(table.indptr)) * labels + table.indices
        table = csr_matrix((np.arange(1, table.nnz + 1), table.indices, table.indptr), shape=table.shape)
        rows, rivals, parts = [], [], []  # parts: (row of logits, weight, value) per group
        done = 0
        for group in owners.values():
            members = np.sort(np.concatenate([by_label[label] for label in group]))
            shortlist = shortlists[group[0]]
            block = features[members].tocoo()
            grams = np.unique(block.col)
            index = table[grams][:, shortlist].toarray()  # group grams × shortlist places
            gram_of, place = np.nonzero(index)  # sorted by gram, then place
            first = np.searchsorted(gram_of, np.arange(len(grams)))
            local = np.searchsorted(grams, block.col)
            repeat = np.bincount(gram_of, minlength=len(grams))[local]
            entry = np.repeat(np.arange(block.nnz), repeat)
            pair = first[local][entry] + np.arange(len(entry)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
            parts.append((
                ((done + block.row[entry]) * width + place[pair]).astype(np.int32),
                (index[gram_of[pair], place[pair]] - 1).astype(np.int32),
                block.data[entry].astype(np.float32),
            ))
            rows.append(members)
            rivals.append(np.broadcast_to(shortlist, (len(members), width)))
            done += len(members)
        logit_rows, columns, values = (np.concatenate(part) for part in zip(*parts))
        del parts
        self.logits = coo_matrix((values, (logit_rows, columns)), shape=(done * width, len(self.keys))).tocsr()
        del logit_rows, columns, values
        self.transposed = self.logits.T.tocsr()
        self.rivals = np.concatenate(rivals)
        self.onehot = (self.rivals == target[np.concatenate(rows)][:, None]).astype(np.float32)


def _shortlists(features: csr_matrix, target: np.ndarray, labels: int, shared: Collection[int]) -> list[np.ndarray]:
    """Per label, the labels its phrasings are weighed against, itself and the shared ones included, in index order."""
    onehot = csr_matrix((np.ones(len(target), dtype=np.float32), (target, np.arange(len(target)))), shape=(labels, len(target)))
    profiles = onehot @ features  # labels × grams: each label's phrasings summed
    norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel())
    profiles = csr_matrix(profiles.multiply(1 / np.where(norms > 0, norms, 1)[:, None]))
    similar = (profiles @ profiles.T).toarray()  # labels × labels cosine: small next to the phrasings
    np.fill_diagonal(similar, np.inf)
    similar[:, list(shared)] = np.inf
    return [np.sort(np.argpartition(-row, SHORTLIST - 1)[:SHORTLIST]) for row in similar]


def _lbfgs(loss: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, rounds: int, memory: int = 10) -> np.ndarray:
    """Limited-memory BFGS with a backtracking line search.

    Written out because SciPy's L-BFGS-B spends most of its time on bound
    handling that this unbounded problem does not need (3x slower here).
    The search direction and the steps it is built from are float32: that
    recursion was over half of the full model's training, all of it passes
    over vectors of grams × labels, and half the bytes halve it (3.6 of 6.2 s
    to 1.8, 8 December 2026). The direction only steers; the loss, its
    gradient and the stopping test stay float64, so training stops at the same
    optimum (no eval decision moved, no score by more than 0.01 points).
    """
    value, grad = loss(x)
    steps: list[tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, 1 / y·s), oldest first
    for _ in range(rounds):
        direction = grad.astype(np.float32)
        alphas = []
        for s, y, rho in reversed(steps):
            alpha = rho * float(blas.sdot(s, direction))
            blas.saxpy(y, direction, a=-alpha)
            alphas.append(alpha)
        if steps:
            s, y, _ = steps[-1]
            direction *= float(blas.sdot(s, y)) / float(blas.sdot(y, y))
        else:
            direction /= max(1.0, float(np.linalg.norm(grad)))
        for (s, y, rho), alpha in zip(steps, reversed(alphas)):
            blas.saxpy(s, direction, a=alpha - rho * float(blas.sdot(y, direction)))
        direction = direction.astype(x.dtype)
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
            steps = [*steps[-(memory - 1) :], (s.astype(np.float32), y.astype(np.float32), 1.0 / curvature)]
        x, value, grad = candidate, new_value, new_grad
        if float(np.abs(grad).max()) < CONVERGED_GRADIENT:
            break
    return x
