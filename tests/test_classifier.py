"""The learned signal: which words tell intents apart, learned from the phrasings alone."""

from __future__ import annotations

import numpy as np

from bot.matching.classifier import IntentClassifier

OFF = "(off topic)"
EXAMPLES = [
    (text.split(), label)
    for label, texts in {
        "same-role": ["are they the same job", "same job or not", "is it the same job really", "one job two names"],
        "one-person": ["can one person do both", "same person for both", "one person both hats", "is it the same person"],
        "salary": ["how much does it pay", "what is the pay", "pay and salary", "salary range"],
        OFF: ["the weather in paris", "recipe for banana bread", "who won the football", "cheap flights to rome",
              "my cat is sick", "best pizza in town", "football scores tonight", "rome weather"],
    }.items()
    for text in texts
]


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
