"""What a Matcher learns from the knowledge by reading every phrasing: built once, then kept on disk.

Normalising every phrasing (typo fixes against the knowledge's own vocabulary,
synonyms, word forms) and training the classifier are the costly part of
loading knowledge. Their results are saved through the index cache under a key
made of the knowledge's file hashes and the matching code's hash, so a restart
on unchanged knowledge reads them back instead. Everything else a Matcher holds
is derived from these in linear time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bot.knowledge import KnowledgeBase
from bot.matching.cache import IndexCache, cache_key, code_version, pack_strings, unpack_strings
from bot.matching.classifier import IntentClassifier
from bot.matching.normalise import STOP_WORDS, Normaliser, basic_tokens

log = logging.getLogger("pmbot.index")

NOT_ABOUT = "(not about pmbot's topics)"  # pseudo-intent of the knowledge's not_about examples
CACHE_KIND = "matcher"


@dataclass(frozen=True)
class Entry:
    """One text the knowledge matches against: a title, phrasing or keyword of an intent, or a not_about line."""

    intent_id: str
    text: str
    tokens: tuple[str, ...]

    @property
    def content(self) -> list[str]:
        return content_words(self.tokens)


def content_words(tokens: list[str] | tuple[str, ...]) -> list[str]:
    """The tokens that carry a topic, each once, in order."""
    return list(dict.fromkeys(t for t in tokens if t not in STOP_WORDS))


@dataclass(frozen=True)
class KnowledgeIndex:
    normaliser: Normaliser
    entries: tuple[Entry, ...]  # grouped by intent in knowledge order, the not_about lines last
    classifier: IntentClassifier  # its labels are the entries' intents in that same order
    # Texts of stop words alone ("what are you for"): no signal reads them, so they answer only when typed word for
    # word (Matcher.verbatim), as the knowledge's author meant them to.
    verbatim_only: tuple[Entry, ...]

    @classmethod
    def build(cls, kb: KnowledgeBase, previous: IntentClassifier | None = None) -> KnowledgeIndex:
        """`previous`: the last index's classifier, whose weights the training starts from."""
        owned = [(i.id, t) for i in kb.intents.values() for t in (i.title, *i.phrasings, *i.keywords)]
        owned += [(NOT_ABOUT, text) for text in kb.not_about]
        texts = [text for _, text in owned]
        basic = [basic_tokens(text) for text in texts]
        normaliser = Normaliser(texts, _synonyms(kb), basic=basic)
        entries, verbatim_only = [], []
        for (intent_id, text), text_basic in zip(owned, basic):
            tokens = tuple(normaliser.refine(text_basic))
            if content_words(tokens):
                entries.append(Entry(intent_id, text, tokens))
            elif tokens:  # stop words alone say nothing about any intent, to any signal
                verbatim_only.append(Entry(intent_id, text, tokens))
        classifier = IntentClassifier([(list(e.tokens), e.intent_id) for e in entries], shared=[NOT_ABOUT], previous=previous)
        return cls(normaliser, tuple(entries), classifier, tuple(verbatim_only))

    def state(self) -> dict[str, np.ndarray]:
        arrays = {f"normaliser.{k}": v for k, v in self.normaliser.state().items()}
        arrays |= {f"classifier.{k}": v for k, v in self.classifier.state().items()}
        return arrays | _packed("entry", self.entries) | _packed("verbatim", self.verbatim_only)

    @classmethod
    def restore(cls, kb: KnowledgeBase, arrays: dict[str, np.ndarray]) -> KnowledgeIndex:
        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}

        return cls(
            Normaliser.restore(part("normaliser."), _synonyms(kb)),
            _unpacked("entry", arrays),
            IntentClassifier.restore(part("classifier.")),
            _unpacked("verbatim", arrays),
        )


def _packed(prefix: str, entries: tuple[Entry, ...]) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_intent": pack_strings([e.intent_id for e in entries]),
        f"{prefix}_text": pack_strings([e.text for e in entries]),
        f"{prefix}_tokens": pack_strings([" ".join(e.tokens) for e in entries]),
    }


def _unpacked(prefix: str, arrays: dict[str, np.ndarray]) -> tuple[Entry, ...]:
    columns = (unpack_strings(arrays[f"{prefix}_{column}"]) for column in ("intent", "text", "tokens"))
    return tuple(Entry(intent_id, text, tuple(tokens.split())) for intent_id, text, tokens in zip(*columns, strict=True))


def load_or_build(kb: KnowledgeBase, cache: IndexCache) -> KnowledgeIndex:
    """The index from the cache when this knowledge was indexed by this code before, else built (and saved)."""
    key = cache_key(code_version(), *(f"{source.path.name}:{source.sha256}" for source in kb.sources))
    arrays = cache.load(CACHE_KIND, key)
    if arrays is not None:
        try:
            return _remember(KnowledgeIndex.restore(kb, arrays))
        except (KeyError, ValueError, UnicodeDecodeError) as exc:  # written by a broken or foreign writer
            log.warning("ignoring a damaged index cache entry (%s: %s); rebuilding", type(exc).__name__, exc)
    index = KnowledgeIndex.build(kb, _last_classifier or _newest_classifier(cache))
    cache.save(CACHE_KIND, key, index.state())
    return _remember(index)


# The classifier of the last index this process built or read: what a teach, an upload or an edit on disk builds
# next is that knowledge changed a little, and its training starts from these weights (IntentClassifier._start_from).
_last_classifier: IntentClassifier | None = None


def _newest_classifier(cache: IndexCache) -> IntentClassifier | None:
    """The classifier of the index last used from the cache: in a process's first build, what the pmbot before an
    upgrade (whose matching code keys its own entries) trained on the same knowledge, or one close to it."""
    arrays = cache.newest(CACHE_KIND)
    try:
        return None if arrays is None else IntentClassifier.restore({
            name.removeprefix("classifier."): value for name, value in arrays.items() if name.startswith("classifier.")
        })
    except (KeyError, ValueError, UnicodeDecodeError):  # another code's layout: start from nothing
        return None


def _remember(index: KnowledgeIndex) -> KnowledgeIndex:
    global _last_classifier
    _last_classifier = index.classifier
    return index


def _synonyms(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """The synonym table, with each ambiguous word a canonical word of its own, keeping its spellings ("pm: [pms]")."""
    return {**{word: () for word in kb.ambiguous}, **kb.synonyms}
