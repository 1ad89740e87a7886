"""Training the intent classifier in time and memory that grow with the knowledge, not with its square.

A full multinomial logistic regression weighs every phrasing against every
intent and keeps a weight for every word and intent: phrasings × intents work
per round and words × intents weights, both quadratic as a knowledge grows
(2 minutes and gigabytes at 28,000 phrasings). Here each phrasing is weighed
against a shortlist of at most SHORTLIST intents: its own, the intents whose
phrasings use the most similar words (the ones it could be confused with), and
the labels every question competes with (off topic). A word only gets weights
for the intents on the shortlists of the phrasings that use it. While a
knowledge has no more intents than SHORTLIST, every shortlist holds them all,
and this is exactly the full model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

import numpy as np
from scipy.sparse import csr_matrix

SHORTLIST = 64  # intents a phrasing is weighed against in training
REGULARISATION_C = 50.0  # inverse strength of the weight penalty: high, because the phrasings are curated, not noisy
MAX_TRAINING_ROUNDS = 100  # L-BFGS iterations: on ~4,000 phrasings accuracy stops moving after ~50
CONVERGED_GRADIENT = 1e-4


@dataclass(frozen=True)
class Learned:
    """The weights by word (gram): gram g's weights are `values[starts[g]:starts[g+1]]` for labels `labels[…]`."""

    starts: np.ndarray
    labels: np.ndarray
    values: np.ndarray
    bias: np.ndarray


@dataclass
class _Group:
    """The phrasings that share one shortlist, with their grams renumbered 0…len(grams)-1."""

    features: csr_matrix  # phrasings × the group's grams
    transposed: csr_matrix
    onehot: np.ndarray  # phrasings × shortlist: where each phrasing's own label sits
    shortlist: np.ndarray  # label indexes
    slots: np.ndarray  # the group's grams × shortlist: index of each weight in the parameter vector


def fit(features: csr_matrix, target: np.ndarray, labels: int, shared: Collection[int] = ()) -> Learned:
    """L2-penalised multinomial logistic regression over shortlists (the bias unpenalised).

    `shared`: label indexes on every shortlist.
    """
    features = features.tocsr()
    groups, keys = _groups(features, target, labels, _shortlists(features, target, labels, shared))
    size = len(keys)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = flat[:size], flat[size:]
        value = float(weights @ weights) / (2 * REGULARISATION_C)
        grad_bias = np.zeros(labels, dtype=np.float64)
        slots, grads = [], []
        for group in groups:
            logits = group.features @ weights[group.slots] + bias[group.shortlist]
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            value -= float((group.onehot * log_p).sum())
            error = np.exp(log_p) - group.onehot
            slots.append(group.slots.ravel())
            grads.append((group.transposed @ error).ravel())
            grad_bias += np.bincount(group.shortlist, error.sum(axis=0), minlength=labels)
        grad = np.bincount(np.concatenate(slots), np.concatenate(grads), minlength=size).astype(np.float32)
        grad += weights / REGULARISATION_C
        return value, np.concatenate([grad, grad_bias.astype(np.float32)])

    solved = _lbfgs(loss, np.zeros(size + labels, dtype=np.float32))
    grams, label_of = np.divmod(keys, labels)
    starts = np.concatenate([[0], np.cumsum(np.bincount(grams, minlength=features.shape[1]))])
    return Learned(starts, label_of.astype(np.int32), solved[:size].astype(np.float32), solved[size:].astype(np.float32))


def _shortlists(features: csr_matrix, target: np.ndarray, labels: int, shared: Collection[int]) -> list[np.ndarray]:
    """Per label, the labels its phrasings are weighed against, itself included, in index order."""
    if labels <= SHORTLIST:
        return [np.arange(labels)] * labels
    onehot = csr_matrix((np.ones(len(target), dtype=np.float32), (target, np.arange(len(target)))), shape=(labels, len(target)))
    profiles = onehot @ features  # labels × grams: each label's phrasings summed
    norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel())
    profiles = csr_matrix(profiles.multiply(1 / np.where(norms > 0, norms, 1)[:, None]))
    similar = (profiles @ profiles.T).toarray()  # labels × labels cosine: small next to the phrasings
    np.fill_diagonal(similar, np.inf)
    similar[:, list(shared)] = np.inf
    room = SHORTLIST
    return [np.sort(np.argpartition(-row, room - 1)[:room]) for row in similar]


def _groups(
    features: csr_matrix, target: np.ndarray, labels: int, shortlists: list[np.ndarray]
) -> tuple[list[_Group], np.ndarray]:
    """The phrasings grouped by shortlist, and the sorted (gram × labels + label) key of every weight."""
    distinct: dict[bytes, list[int]] = {}
    for label, shortlist in enumerate(shortlists):
        distinct.setdefault(shortlist.tobytes(), []).append(label)
    by_label = np.split(np.argsort(target, kind="stable"), np.cumsum(np.bincount(target, minlength=labels))[:-1])
    members = [np.sort(np.concatenate([by_label[label] for label in owners])) for owners in distinct.values()]
    firsts = [shortlists[owners[0]] for owners in distinct.values()]
    grams_of = [np.unique(features[rows].indices) for rows in members]
    keys = np.unique(np.concatenate([(grams[:, None] * labels + shortlist[None, :]).ravel() for grams, shortlist in zip(grams_of, firsts)]))
    groups = []
    for rows, shortlist, grams in zip(members, firsts, grams_of):
        local = features[rows][:, grams].tocsr()
        position = np.searchsorted(shortlist, target[rows])
        onehot = np.zeros((len(rows), len(shortlist)), dtype=np.float32)
        onehot[np.arange(len(rows)), position] = 1.0
        slots = np.searchsorted(keys, grams[:, None] * labels + shortlist[None, :])
        groups.append(_Group(local, local.T.tocsr(), onehot, shortlist, slots))
    return groups, keys


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
