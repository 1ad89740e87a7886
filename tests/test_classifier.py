"""The learned signal: which words tell intents apart, learned from the phrasings alone."""

from __future__ import annotations

import numpy as np

from bot.matching.classifier import IntentClassifier
from bot.matching.training import FULL_MODEL_LABELS

OFF = "(off topic)"
EXAMPLES_BY_LABEL = {
    "same-role": ["are they the same job", "same job or not", "is it the same job really", "one job two names"],
    "one-person": ["can one person do both", "same person for both", "one person both hats", "is it the same person"],
    "salary": ["how much does it pay", "what is the pay", "pay and salary", "salary range"],
    OFF: ["the weather in paris", "recipe for banana bread", "who won the football", "cheap flights to rome",
          "my cat is sick", "best pizza in town", "football scores tonight", "rome weather"],
}
EXAMPLES = [(text.split(), label) for label, texts in EXAMPLES_BY_LABEL.items() for text in texts]


def test_the_words_that_differ_decide_between_close_intents() -> None:
    classifier = IntentClassifier(EXAMPLES)
    probabilities = dict(zip(classifier.labels, classifier.probabilities("is it really the same job".split())))
    assert max(probabilities, key=probabilities.get) == "same-role"
    probabilities = dict(zip(classifier.labels, classifier.probabilities("could the same person do both".split())))
    assert max(probabilities, key=probabilities.get) == "one-person"


def test_words_it_hardly_knows_lean_off_topic() -> None:
    """Rare words are learned as "unknown", which the off-topic examples are full of."""
    classifier = IntentClassifier(EXAMPLES)
    probabilities = dict(zip(classifier.labels, classifier.probabilities("zebra quantum marmalade".split())))
    assert max(probabilities, key=probabilities.get) == OFF


def test_probabilities_are_a_distribution_even_for_nothing() -> None:
    classifier = IntentClassifier(EXAMPLES)
    for tokens in ([], ["pay"], "pay pay pay pay".split()):
        probabilities = classifier.probabilities(tokens)
        assert len(probabilities) == len(classifier.labels)
        assert np.all(probabilities >= 0) and abs(float(probabilities.sum()) - 1) < 1e-5


def test_retraining_on_the_same_knowledge_gives_the_same_answers() -> None:
    """A reload must not change how an unchanged knowledge answers."""
    first, second = IntentClassifier(EXAMPLES), IntentClassifier(EXAMPLES)
    question = "same job pay".split()
    assert np.array_equal(first.probabilities(question), second.probabilities(question))


def test_a_knowledge_with_many_intents_is_learned_with_weights_only_where_words_are_used() -> None:
    """Past FULL_MODEL_LABELS intents, training weighs each phrasing against a shortlist, so its cost
    and its weights grow with the phrasings, not with phrasings × intents; it must still tell them apart."""
    topics = [f"topic{n}" for n in range(FULL_MODEL_LABELS + 16)]
    many = [
        (f"{opening} {topic} {closing}".split(), topic)
        for topic in topics
        for opening, closing in (("what is", "about"), ("explain", "please"), ("how does", "work"), ("tell me about", "now"))
    ] + [(text.split(), OFF) for text in EXAMPLES_BY_LABEL[OFF]]
    classifier = IntentClassifier(many, shared=[OFF])
    for topic in ("topic3", "topic70"):
        probabilities = dict(zip(classifier.labels, classifier.probabilities(f"so what is {topic} about".split())))
        assert max(probabilities, key=probabilities.get) == topic
    probabilities = dict(zip(classifier.labels, classifier.probabilities("best pizza in rome".split())))
    assert max(probabilities, key=probabilities.get) == OFF
    assert len(classifier.weights.values) < len(classifier.column) * len(classifier.labels) / 4
