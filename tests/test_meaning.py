"""The meaning classifier (bot/matching/meaning.py): what it learns, and that a warm start never retrains it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from bot.matching import meaning as meaning_module
from bot.matching.cache import IndexCache
from bot.matching.explain import explain, explain_text
from bot.matching.meaning import MeaningClassifier, load_or_train


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three labels, each a tight bundle of unit vectors around its own direction."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 16, dtype=np.float32)
    labels = np.repeat(np.arange(3), 12)
    points = centres[labels] + 0.15 * rng.standard_normal((len(labels), 16)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True), labels


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray | None]:
    """Every training, by the weights it started from (None: from nothing): a cache hit shows as one that did not happen."""
    monkeypatch.setattr(meaning_module, "_last", None)
    done: list[np.ndarray | None] = []
    train = MeaningClassifier.train.__func__  # type: ignore[attr-defined]

    def counted(cls: type[MeaningClassifier], embeddings: np.ndarray, labels: np.ndarray, count: int,
                start: np.ndarray | None = None) -> MeaningClassifier:
        done.append(start)
        return train(cls, embeddings, labels, count, start)

    monkeypatch.setattr(MeaningClassifier, "train", classmethod(counted))
    return done


def test_a_new_point_near_a_labels_phrasings_gets_that_label() -> None:
    points, labels = _clusters()
    classifier = MeaningClassifier.train(points, labels, 3)
    near_second = np.eye(3, 16, dtype=np.float32)[1] + 0.1 * np.eye(1, 16, 5, dtype=np.float32)[0]
    probabilities = classifier.probabilities(near_second / np.linalg.norm(near_second))
    assert np.isclose(probabilities.sum(), 1.0)
    assert int(np.argmax(probabilities)) == 1 and probabilities[1] > 0.8


def test_beyond_full_model_labels_a_nearest_centroid_model_still_tells_labels_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A knowledge of hundreds of intents must not spend an hour training: it gets the one-pass model."""
    monkeypatch.setattr(meaning_module, "FULL_MODEL_LABELS", 2)
    points, labels = _clusters()
    classifier = MeaningClassifier.train(points, labels, 3)
    assert [int(np.argmax(classifier.probabilities(p))) for p in points] == labels.tolist()


def test_the_classifier_is_read_from_the_cache_until_the_knowledge_or_model_changes(tmp_path: Path, trainings: list) -> None:
    cache = IndexCache(tmp_path / "cache")
    points, labels = _clusters()
    names = ["a", "b", "c"]
    first = load_or_train(points, labels, names, cache)
    meaning_module._last = None  # as in a new process: only the disk has it
    again = load_or_train(points, labels, names, cache)
    assert len(trainings) == 1, "unchanged embeddings and labels are read back, not trained again"
    assert load_or_train(points, labels, names, IndexCache(None)) is again, "the same process keeps the last one"
    assert np.allclose(first.probabilities(points[0]), again.probabilities(points[0]))

    relabelled = labels.copy()
    relabelled[0] = 2  # a phrasing moved to another intent
    load_or_train(points, relabelled, names, cache)
    other_model, _ = _clusters(seed=1)  # other vectors for the same texts: another model
    load_or_train(other_model, labels, names, cache)
    load_or_train(points, labels, ["a", "b", "renamed"], cache)
    assert len(trainings) == 4


def test_a_stored_classifier_of_the_wrong_shape_is_trained_again(tmp_path: Path, trainings: list) -> None:
    cache = IndexCache(tmp_path / "cache")
    points, labels = _clusters()
    load_or_train(points, labels, ["a", "b", "c"], cache)
    (stored,) = (tmp_path / "cache" / "meaning").glob("*.npz")
    np.savez(stored, weights=np.zeros((16, 2), dtype=np.float32), bias=np.zeros(2, dtype=np.float32))
    meaning_module._last = None
    classifier = load_or_train(points, labels, ["a", "b", "c"], cache)
    assert len(trainings) == 2
    assert classifier.probabilities(points[0]).shape == (3,)


def test_training_on_changed_knowledge_starts_from_the_last_classifier_and_ends_where_a_fresh_one_does(trainings: list) -> None:
    """A teach retrains on knowledge one phrasing away from the last: the last weights are where training starts (each
    label's by its name, wherever it now stands), and what it learns is what training from nothing learns."""
    points, labels = _clusters()
    load_or_train(points[1:], labels[1:], ["a", "b", "c"], IndexCache(None))
    last = meaning_module._last
    assert last is not None
    moved = np.array([1, 2, 0])[labels]  # the same intents, listed in another order: a is now 1, c is 0
    warm = load_or_train(points, moved, ["c", "a", "b"], IndexCache(None))
    start = trainings[-1]
    assert start is not None
    weights = start[:-3].reshape(16, 3)
    assert np.array_equal(weights[:, 1], last.classifier.weights[:, 0]) and np.array_equal(weights[:, 0], last.classifier.weights[:, 2])
    fresh = MeaningClassifier.train(points, moved, 3)
    assert np.allclose(warm.probabilities(points[5]), fresh.probabilities(points[5]), atol=1e-5)

    load_or_train(points, labels, ["x", "y", "c"], IndexCache(None))
    assert trainings[-1] is None, "knowledge that shares under half its intents with the last starts from nothing"


def test_after_an_upgrade_training_starts_from_the_classifier_the_cache_holds(
    tmp_path: Path, trainings: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deploy that changes matching code keys the classifier anew, and its first process has trained nothing: it
    starts from the one the old code left in the cache, by its labels' names, where an older pmbot stored none."""
    cache = IndexCache(tmp_path / "cache")
    points, labels = _clusters()
    old = load_or_train(points, labels, ["a", "b", "c"], cache)
    monkeypatch.setattr(meaning_module, "code_version", lambda: "an edited matcher.py")
    meaning_module._last = None
    load_or_train(points, labels, ["a", "b", "c"], cache)
    assert trainings[-1] is not None and np.array_equal(trainings[-1][:-3].reshape(16, 3), old.weights)

    for entry in (tmp_path / "cache" / "meaning").glob("*.npz"):
        np.savez(entry, weights=old.weights, bias=old.bias)  # as an older pmbot stored it: no names
    monkeypatch.setattr(meaning_module, "code_version", lambda: "another edit")
    meaning_module._last = None
    load_or_train(points, labels, ["a", "b", "c"], cache)
    assert trainings[-1] is None


def test_off_topic_chat_is_read_as_off_topic_and_a_question_as_its_intent(matcher: Matcher) -> None:
    off = matcher.off_topic_row
    chat = matcher.meaning("can you recommend a good pizza place near the station")
    assert chat is not None and int(np.argmax(chat.probability)) == off
    question = matcher.meaning("what does a product manager actually do every day")
    assert question is not None
    assert matcher.intent_ids[int(np.argmax(question.probability))] == "product-manager-responsibilities"


def test_why_shows_the_meaning_classifiers_view(kb: KnowledgeBase, matcher: Matcher) -> None:
    report = explain(kb, matcher.match("what does a product manager do all day?"))
    assert 0.5 < report["candidates"][0]["meaning"] <= 1.0
    assert "meaning classifier" in explain_text(report)


def test_without_the_model_there_is_no_meaning_classifier_and_words_still_answer(kb: KnowledgeBase) -> None:
    lexical = Matcher(kb, embedder=None)
    result = lexical.match("what does a product manager do all day?")
    assert (result.kind, result.intent_id) == ("answer", "product-manager-responsibilities")
    assert all(c.meaning is None for c in result.candidates)
    assert "meaning classifier" not in explain_text(explain(kb, result))
