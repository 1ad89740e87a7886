"""Matches a question to an intent and decides answer, suggest or fallback.

The scoring is deliberately explainable: for every intent it can say which
phrasing matched, how well, and why the bot did what it did (`/kb why`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge import KnowledgeBase
from bot.matching import thresholds as T
from bot.matching.cache import IndexCache
from bot.matching.columns import Columns
from bot.matching.decision import Signals, answer_probability, thresholds
from bot.matching.index import NOT_ABOUT, Entry, content_words, load_or_build
from bot.matching.meaning import load_or_train
from bot.matching.normalise import ROLE_WORDS, basic_tokens, without_markup
from bot.matching.question_finder import asks, find_questions, short_clauses
from bot.matching.semantic import Embedder, load_embedder

Kind = Literal["answer", "suggest", "fallback"]

WORDING_CANDIDATES = 96  # phrasings of intents compared letter by letter
SHAPE_CANDIDATES = 32  # of those, phrasings whose word order is compared in full
OFF_TOPIC_CANDIDATES = 16  # and at most this many off-topic examples besides
# Roles beside ours that people ask about in the same breath ("Can the product owner also be scrum master?").
# An answer whose phrasings never name the role the question names is about something else: it is offered,
# not given. Measured 3 December 2026: real-tune chat answered 6.5% -> 5.2%, real-heldout 15.2% -> 14.7%,
# no right answer lost on any set. "product owner" (a real-dev question lost) and "program manager" (a
# real-dev and a fresh4 one) are left out: questions name them in passing, about intents that never do.
# The second line, added 5 December 2026 as the domain names them (a manager of another kind, "sales manager", is
# already no role of ours: Normaliser.mark_foreign_heads): two wrong answers fewer on real-heldout (only counted),
# one chat line fewer on faq-real ("What is a technical program manager?"), nothing else moved.
NEIGHBOUR_ROLES = ("scrum master", "business analyst", "engineering manager", "project coordinator", "delivery manager",
                   "agile coach", "tech lead", "technical program manager", "product designer", "ux designer",
                   "chief product officer", "product analyst", "solution architect", "data scientist", "marketing manager")
QUESTION_PART_INTENTS = 3  # a long message's answer must be among its question part's best intents
THANKS = "thanks"  # the catalog's intent for a thank-you (../shared/spec/intents.yaml)
SMALL_TALK = frozenset({"greeting", THANKS})  # the catalog's intents that answer courtesies, not questions
THANKS_CLAUSE_WORDS = 8  # a thank-you said in passing is at most this long ("Thanks for pointing this out!")
SEMANTIC_CANDIDATES = 3  # intents the embedding puts nearest are scored even when they share few words
WORDS_KEPT = 4  # token lists whose word-level scores a matcher keeps (Matcher._words)
# A message longer than this whose words tell which meaning its "PM" has is read with that meaning spelled out
# (Matcher._spelled_out). A shorter one that names a meaning beside the word mostly asks what the word means
# ("Is PM a project manager?", "does PM mean product or project manager"), and is read as written.
SPELLED_OUT_WORDS = 20
_WORD_AS_TYPED = re.compile(r"[\w'’]+")
_DEFAULT = object()  # Matcher's embedder when none is given: the bundled model


def _owners(entries: tuple[Entry, ...]) -> dict[str, str]:
    """Each phrasing's normalised words → its intent. Two phrasings the loader tells apart may still normalise alike
    ("what's a PO", "what is a product owner"); in two intents, that wording is neither's."""
    owners: dict[str, str | None] = {}
    for entry in entries:
        key = " ".join(entry.tokens)
        owners[key] = entry.intent_id if owners.get(key, entry.intent_id) == entry.intent_id else None
    return {key: owner for key, owner in owners.items() if owner is not None}


@dataclass(frozen=True)
class Candidate:
    """One intent's score for a question, with the phrasing that earned it."""

    intent_id: str
    score: float
    matched: str
    overlap: float = 0.0
    wording: float = 0.0
    coverage: float = 0.0
    learned: float = 0.0  # the classifier's probability for the intent, discounted for unknown words
    # About the question, not the intent (the same on every candidate): the classifier's probability
    # that it is off topic, and the share of its word weight made of words the knowledge knows.
    off_topic: float = 1.0
    read: float = 0.0
    lexical: float = 0.0  # the word-level score (0-100) before the embedding's similarity is blended in
    similarity: float | None = None  # cosine between the question's embedding and the intent's nearest phrasing
    meaning: float | None = None  # the meaning classifier's probability for the intent (meaning.py)
    meaning_off_topic: float | None = None  # and its probability that the question is off topic (same on every candidate)


@dataclass(frozen=True)
class Meaning:
    """What the question's embedding says about each intent row (the off-topic examples' row included)."""

    similarity: np.ndarray  # cosine to the intent's nearest phrasing
    probability: np.ndarray  # the meaning classifier's probability (meaning.py)


@dataclass(frozen=True)
class _Words:
    """What a question's words alone say about every phrasing (Matcher._words), whichever intents are then added."""

    overlap: np.ndarray  # per phrasing: the question's words it shares, by rarity
    coverage: np.ndarray  # per intent: the share of the question's words its phrasings use
    by_words: np.ndarray  # per phrasing: the two blended, less the role mismatch
    near: np.ndarray  # the phrasings worth comparing letter by letter, in index order
    wording: np.ndarray  # and how alike their words are, letter by letter (0-1)
    sorted_content: str
    learned: np.ndarray  # per intent: the classifier's probability, discounted for unknown words
    off_topic: float
    known_share: float


@dataclass(frozen=True)
class MatchResult:
    kind: Kind
    question: str
    normalised: str
    intent_id: str | None = None
    score: float = 0.0
    suggestions: tuple[str, ...] = ()
    # For an answer: the runners-up sure enough to be offered, which the reply puts first among its follow-ups.
    also: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    reading: str | None = None  # how an ambiguous word was read, e.g. "pm → product manager"
    ambiguous_word: str | None = None  # set when the bot asks because a word like "pm" has several meanings
    reason: str = ""
    follows: str | None = None  # the intent of the answer the question was read after (follow_up.py)


def _best(scores: np.ndarray, count: int, positive: bool = False) -> np.ndarray:
    """Indexes of the `count` highest scores (more on a tie, all if there are fewer), in index order.

    `positive` leaves out scores at or below zero. Phrasings that share no word with the question
    score zero, and when fewer than `count` of them share one, all the rest tie (30,000 in a large
    knowledge): comparing those letter by letter was the slowest step of matching short chat.
    """
    if len(scores) <= count:
        return np.arange(len(scores))
    # A partition for the cut-off and a comparison beat np.argpartition; partitioning the negated
    # scores at `count` stays fast when hundreds of them tie, which selecting near the end does not.
    cutoff = -np.partition(-scores, count - 1)[count - 1]
    return np.flatnonzero(scores > 0) if positive and cutoff <= 0 else np.flatnonzero(scores >= cutoff)


def also_offered(ranked: list[Candidate], suggest_at: float) -> tuple[str, ...]:
    """The runners-up an answer offers beside it: real messages mix topics, and when the answer is the wrong one
    of two close intents the right one is a click away. Measured 6 December 2026 over the readable real sets:
    21 of 752 answers offer one, 11 of them an intent their follow-ups lack, 2 of those the right answer to a
    question answered wrong. Never for a courtesy, nor a courtesy offered: a "Hello" button helps nobody."""
    if ranked[0].intent_id in SMALL_TALK:
        return ()
    return tuple(c.intent_id for c in ranked[1 : T.MAX_SUGGESTIONS] if c.score >= suggest_at and c.intent_id not in SMALL_TALK)


def _roles_named(words: list[str]) -> tuple[int, ...]:
    """The role words (their places in ROLE_WORDS) that the words name."""
    return tuple(k for k, word in enumerate(ROLE_WORDS) if word in words)


def _names(normalised: str, words: str) -> bool:
    """Whether the normalised text (tokens joined by spaces) holds the words (a role, a cue) in a row."""
    return f" {words} " in f" {normalised} "


def _compared(tokens: list[str]) -> tuple[list[str], list[str]] | None:
    """The two sides of a normalised comparison, "X versus Y" or "difference between X and Y", or None.

    "between" alone compares nothing: "sitting between the execs and the devs".
    """
    if "versus" in tokens:
        at = tokens.index("versus")
        return tokens[:at], tokens[at + 1 :]
    if "difference" in tokens and "between" in tokens and "and" in tokens[(start := tokens.index("between") + 1) :]:
        at = tokens.index("and", start)
        return tokens[start:at], tokens[at + 1 :]
    return None


def _asked_in(tokens: list[str]) -> tuple[list[str], list[str]] | None:
    """The subject and the setting of a normalised "What is X in Y?", or None.

    Only "in" and "within": "of" joins an aspect to its subject ("the characteristics of program management"
    asks about program management).
    """
    if len(tokens) < 5 or tokens[0] != "what" or tokens[1] not in ("is", "are"):
        return None
    at = max((k for k, t in enumerate(tokens) if t in ("in", "within")), default=0)
    return (tokens[2:at], tokens[at + 1 :]) if at > 2 and at < len(tokens) - 1 else None


class Matcher:
    """Built once per KnowledgeBase; matching is read-only and safe to share."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder | None | object = _DEFAULT,
                 cache: IndexCache | None = None) -> None:
        """`embedder` None matches by words alone; by default the bundled model, if it loads.

        `cache` keeps what reading the knowledge taught (and the phrasings' embeddings) on disk,
        so the next start on the same knowledge skips it.
        """
        cache = cache or IndexCache(None)
        self.kb = kb
        index = load_or_build(kb, cache)
        self.normaliser = index.normaliser
        self.ambiguous = {w: [r.split() for r in readings] for w, readings in kb.ambiguous.items()}
        # Normalised like a question, so "deadlines" or "proj plan" in a message meet the cue as written.
        self.cues = {meaning: [" ".join(cue) for w in words if (cue := self.normaliser.tokens(w))] for meaning, words in kb.cues.items()}
        self.classifier = index.classifier
        entries = index.entries
        contents = [e.content for e in entries]
        self.intent_ids = list(dict.fromkeys(e.intent_id for e in entries))  # the classifier's labels, index for index
        row_of_intent = {i: r for r, i in enumerate(self.intent_ids)}
        self.entry_intent = np.array([row_of_intent[e.intent_id] for e in entries], dtype=np.intp)

        intent_vocab: list[Counter[str]] = [Counter() for _ in self.intent_ids]
        for row, content in zip(self.entry_intent.tolist(), contents):
            intent_vocab[row].update(content)
        df: Counter[str] = Counter(token for vocab in intent_vocab for token in vocab)
        n = len(intent_vocab)
        self.idf = {t: math.log((n + 1) / (d + 1)) + 1 for t, d in df.items()}
        self.max_idf = max(self.idf.values(), default=1.0)
        self.unknown_weight = self.max_idf * T.UNKNOWN_WORD_WEIGHT

        self.column = {t: i for i, t in enumerate(sorted(self.idf))}
        self.topic_entries = sum(1 for e in entries if e.intent_id != NOT_ABOUT)  # NOT_ABOUT's rows come last
        self.entry_text = [e.text for e in entries]
        # Object arrays: picking the few phrasings to compare by an index array is one C call.
        self.entry_content = np.array([" ".join(sorted(content)) for content in contents], dtype=object)
        self.entry_shape = np.array([" ".join(e.tokens) for e in entries], dtype=object)
        self.verbatim = _owners(entries + index.verbatim_only)  # a phrasing typed word for word (_as_written)
        self.thanks_word = self.normaliser.tokens("thanks")[0]  # what "thx", "ty", "cheers" become (synonyms.yaml)
        self.row_of = row_of_intent

        # How much each intent is about each role word, from its own phrasings: the
        # one thing that separates "product manager salary" from "project manager salary".
        role_count = np.zeros((n, len(ROLE_WORDS)), dtype=np.float32)
        for row, content in zip(self.entry_intent.tolist(), contents):
            role_count[row] += [word in content for word in ROLE_WORDS]
        self.role_share = (role_count / np.bincount(self.entry_intent, minlength=n)[:, None]).astype(np.float32)
        self.intents_naming = {
            role: {self.intent_ids[row] for row, shape in zip(self.entry_intent.tolist(), self.entry_shape) if _names(shape, role)}
            for role in NEIGHBOUR_ROLES
        }

        # By column: a question reads a few whole columns. Sparse: the knowledge's size grows
        # them by its number of words, not by its phrasings times its vocabulary.
        self.entry_vectors = Columns(
            [[(self.column[t], self.idf[t]) for t in content] for content in contents], len(self.column), unit_rows=True
        )
        self.intent_words = [frozenset(vocab) for vocab in intent_vocab]  # every word the intent's phrasings use
        # A word in one phrasing may be incidental context; from a second one on it is the intent's own.
        self.intent_vocab = Columns(
            [[(self.column[t], min(1.0, c / T.VOCAB_FULL_AT)) for t, c in vocab.items()] for vocab in intent_vocab],
            len(self.column),
        )
        self._mismatch: dict[tuple[int, ...], np.ndarray] = {}
        self._kept_words: tuple[tuple[tuple[str, ...], _Words | None], ...] = ()  # see _words
        self.off_topic_row = row_of_intent.get(NOT_ABOUT)  # None for a knowledge without not_about examples
        # Where each intent's rows start (rows are grouped by intent): the nearest phrasing per intent is one reduceat.
        self.intent_starts = np.searchsorted(self.entry_intent, np.arange(len(self.intent_ids)))
        self.intent_ends = np.append(self.intent_starts[1:], len(entries))
        self.embedder = load_embedder(None, cache) if embedder is _DEFAULT else embedder
        if self.embedder is not None:
            self.entry_embeddings = self.embedder.embed_many(self.entry_text, cache)
            self.meaning_classifier = load_or_train(self.entry_embeddings, self.entry_intent, self.intent_ids, cache)
        # A role's bare name always says enough: how rare "project" is depends on every other phrasing, and
        # when it dipped under the floor, "So what is a project manager, really?" was only offered its answer.
        self.min_information = min(
            [T.MIN_INFORMATION, *(self.information(self.normaliser.tokens(role.name)) for role in kb.roles.values())]
        )

    _content = staticmethod(content_words)

    def information(self, tokens: list[str]) -> float:
        """How much the question's known words say: their summed rarity (IDF), 1.0 being one word of the rarest kind.

        Relative to the rarest word, so it means the same in a knowledge of 3 intents or of 300.
        """
        return sum(self.idf[t] for t in self._content(tokens) if t in self.idf) / self.max_idf

    def weight(self, token: str) -> float:
        return self.idf.get(token, self.unknown_weight)

    # -- scoring ---------------------------------------------------------------

    def _role_mismatch(self, content: list[str]) -> np.ndarray | None:
        """Per phrasing, how much its intent is about a role the question does not name (None: no conflict)."""
        named = _roles_named(content)
        if not named or len(named) == len(ROLE_WORDS):
            return None
        if named not in self._mismatch:  # one of six combinations: worked out once
            unnamed = [k for k in range(len(ROLE_WORDS)) if k not in named]
            gap = self.role_share[:, unnamed].max(axis=1) - self.role_share[:, list(named)].max(axis=1)
            self._mismatch[named] = np.clip(gap, 0.0, 1.0)[self.entry_intent]
        return self._mismatch[named]

    def meaning(self, text: str) -> Meaning | None:
        """What the text's embedding says per intent row; None without the model."""
        if self.embedder is None:
            return None
        return self._meanings_of(self.embedder.embed(text)[np.newaxis])[0]

    def _meanings_of(self, vectors: np.ndarray) -> list[Meaning]:
        """One Meaning per row of `vectors`, from one product with every phrasing's vector.

        One product, not one per vector: after a model run the phrasings' vectors are out of the CPU's
        caches, and each pass reads them from memory again (1-2 ms each, the slowest long messages'
        three or four parts 2-7 ms in all on real-dev and real-tune, 3 December 2026). One BLAS thread
        (bot/__init__.py): its product is 3x faster than einsum's loop.
        """
        similarity = np.maximum.reduceat(self.entry_embeddings @ vectors.T, self.intent_starts, axis=0).T
        return [Meaning(s, self.meaning_classifier.probabilities(v)) for s, v in zip(similarity, vectors)]

    def _words(self, tokens: tuple[str, ...]) -> _Words | None:
        """What the words alone say about every phrasing, for `rank`; None when no word is known.

        Kept for the last few token lists: a message the model reads is ranked by its words first, to tell
        whether the run is worth it (MODEL_READS_FROM), then again with the intents the model puts nearest, and
        a long message's leading part again after its own run; the word-level scores are the same each time.
        Swapped in as one tuple, so threads sharing the matcher never see half an update.
        """
        kept = self._kept_words
        for key, words in kept:
            if key == tokens:
                return words
        words = self._read_words(tokens)
        self._kept_words = ((tokens, words), *kept[: WORDS_KEPT - 1])
        return words

    def _read_words(self, tokens: tuple[str, ...]) -> _Words | None:
        content = self._content(list(tokens))
        known = [t for t in content if t in self.column]
        if not known:
            return None
        weights = [self.weight(t) for t in content]  # a handful of words: plain Python beats NumPy's per-call cost
        total = sum(weights)
        known_idf = [self.idf[t] for t in known]
        columns = [self.column[t] for t in known]
        idf = np.array(known_idf, dtype=np.float32)
        overlap = self.entry_vectors.weighted_sum(columns, idf) / math.sqrt(sum(w * w for w in weights))
        coverage = self.intent_vocab.weighted_sum(columns, idf) / total
        by_words = T.WEIGHT_OVERLAP * overlap + T.WEIGHT_COVERAGE * coverage[self.entry_intent]
        if (mismatch := self._role_mismatch(content)) is not None:
            by_words -= T.ROLE_MISMATCH_PENALTY * mismatch
        # The character-level signals cost the most, so they are computed only for the phrasings
        # the word-level signals already put near the top: a question stays well under a millisecond.
        # The off-topic examples get places of their own: they are hundreds, and would otherwise
        # crowd every real intent out of the list ("1-2 lines" meets every example with a number).
        split = self.topic_entries
        near = np.concatenate([_best(by_words[:split], WORDING_CANDIDATES, positive=True), split + _best(by_words[split:], OFF_TOPIC_CANDIDATES)])
        sorted_content = " ".join(sorted(content))
        # The classifier knows nothing of words it never saw: its confidence counts only for the
        # share of the question it can read ("difference between mitosis and meiosis" is mostly unread).
        known_share = sum(known_idf) / total
        probabilities = self.classifier.probabilities(list(tokens))
        # Without off-topic examples the classifier cannot tell chat from questions: never sure then.
        off_topic = float(probabilities[self.off_topic_row]) if self.off_topic_row is not None else 1.0
        return _Words(overlap, coverage, by_words, near, self._wording(sorted_content, near), sorted_content,
                      probabilities * known_share, off_topic, known_share)

    def _wording(self, sorted_content: str, entries: np.ndarray) -> np.ndarray:
        """How alike the question's words and each phrasing's are, letter by letter (0-1)."""
        compared = self.entry_content[entries].tolist()
        return process.cdist([sorted_content], compared, scorer=fuzz.ratio, dtype=np.float32)[0] / 100

    def rank(self, tokens: list[str], limit: int = 6, include: tuple[int, ...] = ()) -> list[Candidate]:
        """The best-scoring intents for the tokens (by words alone), best first; `include`d intent rows always."""
        words = self._words(tuple(tokens))
        if words is None:
            return []
        near, wording = words.near, words.wording
        # The intents the embedding puts nearest are scored too, on their phrasing that shares most words.
        starts, ends, by_words = self.intent_starts, self.intent_ends, words.by_words
        forced = [int(starts[r] + np.argmax(by_words[starts[r] : ends[r]])) for r in include]
        if added := sorted(set(forced).difference(near.tolist())):
            near = np.concatenate([near, added])
            wording = np.concatenate([wording, self._wording(words.sorted_content, np.array(added))])
            order = np.argsort(near, kind="stable")  # `near` stays sorted: ties at the top are taken in index order
            near, wording = near[order], wording[order]
        base = by_words[near] + T.WEIGHT_WORDING * wording
        overlap, coverage, learned = words.overlap, words.coverage, words.learned
        top = _best(base, SHAPE_CANDIDATES)
        if forced:
            top = np.union1d(top, np.searchsorted(near, forced))
        entries = near[top]
        shape = process.cdist(
            [" ".join(tokens)], self.entry_shape[entries].tolist(), scorer=fuzz.ratio, dtype=np.float32
        )[0] / 100
        rows = self.entry_intent[entries]
        scores = 100 * (base[top] + T.WEIGHT_SHAPE * shape + T.WEIGHT_LEARNED * learned[rows])
        row_of = rows.tolist()
        picked: dict[int, int] = {}  # intent row -> its best phrasing's place in `top`
        for k in np.argsort(-scores, kind="stable").tolist():
            if len(picked) < limit or row_of[k] in include:
                picked.setdefault(row_of[k], k)
        return [
            Candidate(
                self.intent_ids[row],
                round(float(scores[k]), 2),
                self.entry_text[entries[k]],
                float(overlap[entries[k]]),
                float(wording[top[k]]),
                float(coverage[row]),
                float(learned[row]),
                words.off_topic,
                words.known_share,
                round(float(scores[k]), 2),
            )
            for row, k in picked.items()
        ]

    def signals(self, question: str) -> list[tuple[Candidate, Signals]]:
        """Every signal the decision reads, per candidate intent (ambiguous words as written): for bench/fit_decision.py."""
        text = without_markup(question)
        spelled = self._spelled_out(text)
        tokens, meaning, _, _, _ = self._focus(spelled[0] if spelled else text, read_all=True)
        return self._signals(tokens, meaning)

    def _signals(self, tokens: list[str], meaning: Meaning | None) -> list[tuple[Candidate, Signals]]:
        """The word-level candidates (and the intents nearest in meaning), each with its signals."""
        include: tuple[int, ...] = ()
        nearest: list[int] = []  # intent rows by similarity, best first (stable: the first of a tie, as argmax)
        if meaning is not None:
            nearest = np.argsort(-meaning.similarity, kind="stable")[: SEMANTIC_CANDIDATES + 1].tolist()
            include = tuple(r for r in nearest if r != self.off_topic_row)[:SEMANTIC_CANDIDATES]
        ranked = self.rank(tokens, include=include)
        lexical = {c.intent_id: c.score / 100 for c in ranked}
        off_lexical = lexical.get(NOT_ABOUT, 0.0)
        off_similarity = off_meaning = 0.0
        if meaning is not None and self.off_topic_row is not None:
            off_similarity = float(meaning.similarity[self.off_topic_row])
            off_meaning = float(meaning.probability[self.off_topic_row])
        # Which intent each view puts first (the off-topic examples count as one): agreeing views are rarely all wrong.
        firsts = [max(lexical, key=lexical.get)] if lexical else []
        if meaning is not None:
            firsts += [self.intent_ids[nearest[0]], self.intent_ids[int(np.argmax(meaning.probability))]]
        out = []
        for c in ranked:
            if c.intent_id == NOT_ABOUT:
                continue
            others = [v for k, v in lexical.items() if k != c.intent_id]
            signals = Signals(
                lexical=c.score / 100,
                lexical_lead=c.score / 100 - max(others, default=0.0),
                learned=c.learned,
                off_topic=c.off_topic,
                read=c.read,
                off_topic_lexical=off_lexical,
            )
            cosine = probability = None
            if meaning is not None:
                row = self.row_of[c.intent_id]
                cosine, probability = float(meaning.similarity[row]), float(meaning.probability[row])
                # The best other intent's similarity: the runner-up's for the nearest intent, else the nearest's.
                rivals = [r for r in nearest[:2] if r != row]
                rival = float(meaning.similarity[rivals[0]]) if rivals else 0.0
                signals = replace(signals, similarity=cosine, similarity_lead=cosine - rival,
                                  off_topic_similarity=off_similarity, meaning=probability,
                                  meaning_off_topic=off_meaning, agreement=firsts.count(c.intent_id) / len(firsts))
            out.append((replace(c, lexical=c.score, similarity=cosine, meaning=probability,
                                meaning_off_topic=None if meaning is None else off_meaning), signals))
        return out

    def _scored(self, tokens: list[str], meaning: Meaning | None) -> list[Candidate]:
        """Intents ranked by the fitted chance that each is the answer (decision.py): words and meaning together."""
        scored = [
            replace(c, score=round(100 * answer_probability(signals, semantic=meaning is not None), 2))
            for c, signals in self._signals(tokens, meaning)
        ]
        return sorted(scored, key=lambda c: -c.score)

    def _meanings_in_context(self, text: str, parts: list[str]) -> list[Meaning | None]:
        """What each part's embedding says, read within the whole message (the last part), from one model run.

        None without the model, and for a part mostly before the window the model keeps (a question early
        in a long forum post): `_focus` reads that one by its words first.
        """
        if self.embedder is None:
            return [None] * len(parts)
        whole, vectors = self.embedder.embed_in_context(text, parts[:-1])
        read = [k for k, v in enumerate(vectors) if v is not None]
        meanings: list[Meaning | None] = [None] * len(parts)
        for k, meaning in zip([*read, len(parts) - 1], self._meanings_of(np.stack([*(vectors[k] for k in read), whole]))):
            meanings[k] = meaning
        return meanings

    def _focus(self, text: str, read_all: bool = False
               ) -> tuple[list[str], Meaning | None, tuple[str, ...] | None, list[Candidate] | None, list[str]]:
        """The tokens and meaning of the part of the message to read (question_finder.py), what its question alone
        is about, its intents ranked (None: not ranked yet), and the whole message's tokens.

        A message of one part whose words give no intent a chance (MODEL_READS_FROM) is ranked by its words
        alone, without a model run, unless `read_all` (the fit wants every signal of every question).

        Of the candidate parts, the one whose best intent is likeliest the answer (the fitted chance,
        words and meaning together) is read: by words alone, "…they ask me to prioritise a list of
        features and I freeze. What frameworks do people use for that?" was about tools. The parts
        are embedded within the message in one model run, not one run each. Parts before the window
        that run keeps are read by their words, and the one that then leads by a run of its own: a run
        for each made forum posts asking two or three questions early on the slowest messages (40-53 ms;
        real-dec5-tune's p99 39-41 ms, 24-32 ms now), and read by words alone such a part answered
        wrongly where its meaning only offered ("Does the PMP actually matter…?" got the product
        certificates). Which role the message is about often sits in the context, not in the question
        ("Our PM runs the budgets. What skills does that take?"): its role words are kept. When the
        whole message wins, the intents its question part ranks highest are returned too: an answer
        must be one of them, so the preamble alone never decides.
        """
        parts = find_questions(text)
        if len(parts) == 1:
            tokens = self.normaliser.tokens(parts[0])  # the message itself
            if self.embedder is not None and not read_all:
                by_words = self._scored(tokens, None)
                if not by_words or by_words[0].score < 100 * T.MODEL_READS_FROM:
                    return tokens, None, None, by_words, tokens
            return tokens, self.meaning(parts[0]), None, None, tokens
        tokens_of = {part: self.normaliser.tokens(part) for part in parts}  # the last part is usually `text` itself
        whole = tokens_of[text] if text in tokens_of else self.normaliser.tokens(text)
        roles = [t for t in dict.fromkeys(whole) if t in ROLE_WORDS or t in self.ambiguous]
        tokens = [tokens_of[p] + [r for r in roles if r not in tokens_of[p]] for p in parts]
        meanings = self._meanings_in_context(parts[-1], parts)
        ranked = [self._scored(t, m) for t, m in zip(tokens, meanings)]
        chance = [r[0].score if r else 0.0 for r in ranked]
        if self.embedder is not None:
            # Parts before the model's window are read by their words: the one that leads gets a model run of its
            # own, and the others, unread, are not chosen (at most two runs a message, however many it asks).
            if meanings[k := max(range(len(parts)), key=chance.__getitem__)] is None:
                meanings[k] = self.meaning(parts[k])
                ranked[k] = self._scored(tokens[k], meanings[k])
                chance[k] = ranked[k][0].score if ranked[k] else 0.0
            chance = [c if m is not None else -1.0 for c, m in zip(chance, meanings)]
        asked = max(range(len(parts) - 1), key=chance.__getitem__)  # the best part that is a question, not the whole message
        best = max(range(len(parts)), key=chance.__getitem__)
        if best == asked:
            return tokens[asked], meanings[asked], None, ranked[asked], whole
        return tokens[best], meanings[best], tuple(c.intent_id for c in ranked[asked][:QUESTION_PART_INTENTS]), ranked[best], whole

    # -- deciding --------------------------------------------------------------

    def match(self, question: str) -> MatchResult:
        text = without_markup(question)
        if (spelled := self._spelled_out(text)) is not None:
            result = self._match(spelled[0])
            result = replace(result, question=question, reading=spelled[1], reason=f"read {spelled[1]}; {result.reason}")
        else:
            result = self._match(text)
            result = result if text == question else replace(result, question=question)
        return self._as_written(text, result)

    def _as_written(self, text: str, result: MatchResult) -> MatchResult:
        """The answer whose phrasing the message is, word for word once normalised, whatever the rules would doubt.

        A phrasing is the knowledge's own word that this question is this answer: a question a moderator taught from
        the gaps list must be answered from then on, and the rules that offer rather than answer ("'can-manager'
        is not a role pmbot knows", a message of stop words only) kept "can managers attend the daily standup?" and
        "what are you for" from their own answers. Measured 7 December 2026 over every eval set: 321 messages are a
        phrasing word for word, one of them was not answered with it (tuning's "what are the phazes of a projcet?",
        now right), no other decision moved.
        """
        owner = self.verbatim.get(" ".join(self.normaliser.tokens(text)))
        if owner is None or owner == NOT_ABOUT or (result.kind, result.intent_id) == ("answer", owner):
            return result
        return replace(result, kind="answer", intent_id=owner, score=100.0, suggestions=(), also=(),
                       reason=f"one of its phrasings, word for word; {result.reason}")

    def _spelled_out(self, question: str) -> tuple[str, str] | None:
        """A long message with its ambiguous word spelled out the one way the message's words tell, and how it
        was read; None when there is no such word, or the words tell no one meaning.

        Read as written, such a message is decided by words alone (_match_ambiguous), and its context is what
        tells the meaning: "Project managers also often work remotely… how to get a job as a PM?" was only
        offered its answer. Spelled out, the model reads it too, in the one run it would have had anyway.
        Measured 5 December 2026 over every eval set: four more right answers on the real sets (one of them
        held out), no other decision moved.
        """
        if len(question.split()) <= SPELLED_OUT_WORDS or not self.ambiguous.keys() & set(basic_tokens(question)):
            return None
        whole = self.normaliser.tokens(question)
        word = next((t for t in whole if t in self.ambiguous), None)
        if word is None:
            return None
        readings, told_by = self._readings(word, " ".join(whole))
        if not told_by or len(readings) != 1:
            return None
        meaning = " ".join(readings[0])
        text = _WORD_AS_TYPED.sub(lambda m: meaning if basic_tokens(m.group()) == [word] else m.group(), question)
        return text, f"{word} → {meaning}{told_by}"

    def _match(self, question: str) -> MatchResult:
        tokens, meaning, asked_about, ranked, whole = self._focus(question)
        if ranked is None:
            ranked = self._scored(tokens, meaning)
        normalised = " ".join(tokens)
        ambiguous = [t for t in dict.fromkeys(tokens) if t in self.ambiguous]
        if ambiguous:
            result = self._match_ambiguous(question, tokens, normalised, ranked, ambiguous[0], " ".join(whole))
        else:
            result = self._decide(question, normalised, ranked)
        if result.kind == "answer" and (doubt := self._doubt(result.intent_id, tokens, normalised, asked_about)):
            return replace(result, kind="suggest", intent_id=None, suggestions=(result.intent_id,), also=(), reason=doubt)
        if result.kind != "answer" and (thanked := self._thanked_in_passing(question, result)):
            return thanked
        return result

    def _thanked_in_passing(self, question: str, result: MatchResult) -> MatchResult | None:
        """The thank-you in a message that asks nothing and is offered nothing else first, or None.

        Offered alone, thanks is given when a short clause says it: "Did you mean: Thanks!" helps
        nobody ("thanks heaps for the walkthrough yesterday"), but a thank-you inside a longer clause
        is what a request asks for ("pass a thank you from all of us on to the caterers"). Read whole,
        the report around a thank-you drowns it ("Works again after the restart. Thanks all ;)"), so
        each short clause holding the knowledge's word for thanks is read alone. A message offered one
        of our topics keeps that offer ("…I'm trying to move into a PM career. Thanks"). Only thanks: a
        greeting in passing opens a request more often than not ("Hey, can someone look at my pull
        request"); measured 3 December 2026, greetings read this way answered more chat than they got
        right.
        """
        if asks(question) or result.suggestions[:1] not in ((), (THANKS,)):
            return None
        tokenised = ((c, self.normaliser.tokens(c)) for c in short_clauses(question, THANKS_CLAUSE_WORDS))
        thanking = [(clause, tokens) for clause, tokens in tokenised if self.thanks_word in tokens]
        if thanking and result.suggestions == (THANKS,):
            return replace(result, kind="answer", intent_id=THANKS, suggestions=(), reason=f"thanks, the only offer; {result.reason}")
        for clause, tokens in thanking:
            if clause == question.strip():
                continue
            said = self._decide(question, " ".join(tokens), self._scored(tokens, self.meaning(clause)))
            if said.intent_id == THANKS:
                return replace(said, reason=f"thanks said in passing ({clause!r}); {said.reason}")
        return None

    def _doubt(self, intent_id: str, tokens: list[str], normalised: str, asked_about: tuple[str, ...] | None) -> str | None:
        """Why a sure answer should be offered instead ("Did you mean…"), or None: what the chance cannot see."""
        if self.verbatim.get(normalised) != intent_id and (information := self.information(tokens)) < self.min_information:
            return f"too few telling words to be sure (information {information:.4f} < {self.min_information:.4f})"
        if asked_about is not None and intent_id not in asked_about:
            return "the message's context is about this, but its question is not"
        if role := next((r for r in NEIGHBOUR_ROLES if _names(normalised, r) and intent_id not in self.intents_naming[r]), None):
            return f"the question is about a {role}, which this answer never is"
        if role := self._other_role(intent_id, tokens):
            return f"the question is about the {role} role, which this answer never names"
        if side := self._unnamed_side(intent_id, tokens):
            return f"the question compares '{side}', which this answer never names"
        if setting := self._defines_only_the_setting(intent_id, tokens):
            return setting
        foreign = [t for t in tokens if "-" in t]  # "hotel-manager": see Normaliser.mark_foreign_heads
        if foreign and not any(word in tokens for word in ROLE_WORDS):
            return f"'{foreign[0]}' is not a role pmbot knows, so it won't answer for it"
        return None

    def _other_role(self, intent_id: str, tokens: list[str]) -> str | None:
        """The one role word the question names, when the intent's phrasings never do and are about another; or None.

        The penalty for a role mismatch only lowers the score, and a close wording still answers. Measured 5 December
        2026 over every eval set: one wrong answer fewer on real-tune and one chat line fewer on real-heldout (only
        counted), nothing else moved.
        """
        named = _roles_named(tokens)
        if len(named) != 1:
            return None
        share = self.role_share[self.row_of[intent_id]]
        return ROLE_WORDS[named[0]] if share[named[0]] == 0 and share.max() >= T.OTHER_ROLE_SHARE else None

    def _unnamed_side(self, intent_id: str, tokens: list[str]) -> str | None:
        """A side of the question's comparison that the intent's phrasings use none of the words of, or None.

        A comparison asks about both its sides, and an answer that knows nothing of one answers half of it at
        best: "What is the biggest difference between Google PM and CAPM?" got the product-versus-project
        answer. Any one word of a side that the intent's phrasings use names it: asking for every word, or for
        the rarest, lost right answers on rewordings ("waterfall vs agile tl;dr"). Measured 4 December 2026 over
        every eval set we read: one wrong answer fewer on real-dev, one chat line fewer each on offtopic-fresh,
        real-dec4-tune ("…Project Charter and SOW?") and tuning, no right answer lost.
        """
        if (sides := _compared(tokens)) is None:
            return None
        words = self.intent_words[self.row_of[intent_id]]
        for side in sides:
            # A bare "PM" is named by an answer that names any of its readings.
            readings = [w for t in side for reading in self.ambiguous.get(t, ()) for w in reading]
            if (content := self._content(side + readings)) and not any(t in words for t in content):
                return " ".join(side[1:] if side[0] in ("a", "an", "the") else side)
        return None

    def _defines_only_the_setting(self, intent_id: str, tokens: list[str]) -> str | None:
        """Why an answer saying what Y is does not answer "What is X in Y?", or None when it may.

        The setting's words match the definition best, and outweigh a subject no phrasing names: "What is a
        milestone in project management?" got what project management is. An answer whose phrasings name the
        subject is left to answer ("What are the knowledge areas in the PMBOK Guide?"). Measured 5 December 2026
        over every eval set: one wrong answer and one chat line fewer on real-tune, one chat line fewer on
        real-dec4-heldout (only counted), nothing else moved.
        """
        if (asked := _asked_in(tokens)) is None:
            return None
        subject, setting = asked
        content = self._content(subject)
        if not content or any(t in self.intent_words[self.row_of[intent_id]] for t in content):
            return None
        named = " ".join(setting)
        if intent_id not in (self.verbatim.get(f"what is {named}"), self.verbatim.get(named)):
            return None
        return f"the question asks about '{' '.join(subject)}' in {named}; this answer only says what {named} is"

    def _decide(self, question: str, normalised: str, ranked: list[Candidate], reading: str | None = None) -> MatchResult:
        common = dict(question=question, normalised=normalised, candidates=tuple(ranked[:5]), reading=reading)
        if not ranked:
            return MatchResult("fallback", score=0.0, reason="no intent shares a word with the question", **common)
        best = ranked[0]
        answer_at, suggest_at = thresholds(semantic=best.similarity is not None)
        evidence = f"words {best.lexical:.0f}/100" + (f", meaning {best.similarity:.2f}" if best.similarity is not None else "")
        if best.score >= answer_at:
            why = f"{best.score:.0f}% sure ({evidence}); answers from {answer_at:.0f}%"
            return MatchResult("answer", intent_id=best.intent_id, score=best.score, also=also_offered(ranked, suggest_at),
                               reason=why, **common)
        suggestions = tuple(c.intent_id for c in ranked[: T.MAX_SUGGESTIONS] if c.score >= suggest_at)
        if not suggestions:
            why = f"at best {best.score:.0f}% sure ({evidence}); suggests from {suggest_at:.0f}%"
            return MatchResult("fallback", score=best.score, reason=why, **common)
        why = f"only {best.score:.0f}% sure ({evidence}); answers from {answer_at:.0f}%"
        return MatchResult("suggest", score=best.score, suggestions=suggestions, reason=why, **common)

    def _readings(self, word: str, normalised: str) -> tuple[list[list[str]], str]:
        """The meanings of `word` the message's other words point to, and which words did; when they point to none,
        every meaning but those the knowledge reads only when cued (a bare "PM" is seldom a program manager).

        Only words can tell: "agile PM vs traditional PM" reads every meaning equally well, and
        the meaning whose phrasings are fewest ("program manager") would win by resembling them most.
        """
        told = {tuple(r): [c for c in self.cues.get(" ".join(r), []) if _names(normalised, c)] for r in self.ambiguous[word]}
        pointed = [list(r) for r, cues in told.items() if cues]
        if not pointed:
            usual = [r for r in self.ambiguous[word] if " ".join(r) not in self.kb.only_when_cued]
            return usual or self.ambiguous[word], ""
        return pointed, f" (told by: {', '.join(dict.fromkeys(c for cues in told.values() for c in cues))})"

    def _match_ambiguous(self, question: str, tokens: list[str], normalised: str, literal: list[Candidate], word: str,
                         message: str) -> MatchResult:
        """Reads an ambiguous word each possible way; agreeing readings answer, disagreeing ones ask which.

        `message`: the whole message normalised, whose words anywhere tell which reading is meant.

        The readings are decided by words alone: the message's embedding is of the word as written,
        and would pull every reading towards phrasings about the word itself. The meaning of the question
        rewritten each way would not, but it costs a model run: measured 4 December 2026 for a reading the
        message's words tell, three more right answers on real-dec4-tune and real-dev and one chat line
        there answered, for about 10 ms more on such messages on a two-core AVX2 machine, where the
        longest already take 20-25 ms: real-dev's and real-dec4-tune's p99 went from 24 to 35 ms, over
        the 30 ms goal. A long message whose words tell the reading is spelled out instead, before its
        one model run (_spelled_out).
        """
        results = [self._decide(question, normalised, literal, f"{word} as written")]
        # Cues count anywhere in the message: its question part alone seldom names the role ("Our project
        # managers seem happy. What is the path to becoming a PM?").
        readings, told_by = self._readings(word, message)
        for reading in readings:
            swapped = [part for t in tokens for part in (reading if t == word else [t])]
            results.append(self._decide(question, " ".join(swapped), self._scored(swapped, None), f"{word} → {' '.join(reading)}{told_by}"))
        # By words, as the word was written against each reading: "PM meaning?" resembles phrasings about the
        # word itself more than any reading; "what does a PM do" resembles its readings' phrasings more.
        best_reading = max((r.candidates[0].lexical for r in results[1:] if r.candidates), default=0.0)
        if literal and literal[0].lexical >= best_reading and results[0].kind == "answer":
            return results[0]
        # A reading may answer only if something besides the word itself is about our topics.
        context = [t for t in self._content(normalised.split()) if t != word and t in self.column]
        answers = [r for r in results if r.kind == "answer" and context]
        # Readings that lead to different intents make any one of them a guess, however sure it is: the meaning
        # with the fewest phrasings ("program manager") resembles them most whatever else is asked ("tips for
        # a new PM"). One may answer then only if the question as written, its meaning included, agrees.
        leads_to = {r.candidates[0].intent_id for r in results[1:] if r.candidates}
        if len(leads_to) > 1:
            answers = [r for r in answers if literal and r.intent_id == literal[0].intent_id]
        if answers and len({r.intent_id for r in answers}) == 1:
            chosen = max(answers, key=lambda r: r.score)
            # Another reading that leads elsewhere must be clearly weaker: else that would be a guess.
            others = [r.candidates[0].score for r in results[1:] if r.candidates and r.candidates[0].intent_id != chosen.intent_id]
            if not others or chosen.score - max(others) >= T.READING_MARGIN:
                return chosen
        # Each reading's best intent first, in the order the knowledge lists the meanings, so every meaning
        # of the word is offered; then the best intent for the word as written.
        tops = [r.candidates[0] for r in (*results[1:], results[0]) if r.candidates]
        rest = sorted((c for r in results for c in r.candidates[1:2]), key=lambda c: -c.score)
        pool = [c for c in (*tops, *rest) if c.score >= thresholds(semantic=c.similarity is not None)[1]]
        suggestions = tuple(dict.fromkeys(c.intent_id for c in pool))[: T.MAX_SUGGESTIONS]
        best_score = max(r.score for r in results)
        if not suggestions:
            return MatchResult("fallback", question, normalised, score=best_score, candidates=tuple(literal[:5]),
                               reason="no reading of the ambiguous word scored high enough")
        best = tuple(sorted(pool, key=lambda c: -c.score)[:5])
        if len(readings) == 1:  # the context told the meaning: unsure of the answer, not of the word
            told = results[1]
            why = "the word as written leads elsewhere" if told.kind == "answer" else told.reason
            return MatchResult("suggest", question, normalised, score=best_score, suggestions=suggestions,
                               candidates=best, reading=told.reading, reason=f"read {told.reading}, but {why}")
        # Every reading and the word as written lead to one intent: unsure of the answer, not of the word, so
        # "PM can mean…, so I'd rather not guess" would ask the asker for what changes nothing.
        if len(leads_to | {c.intent_id for c in literal[:1]}) == 1 and results[0].kind != "answer":
            ambiguous = None
            why = f"every reading of '{word}' leads to the same answer, none sure enough to give it (at best {best_score:.0f}%)"
        else:
            ambiguous, meanings = word, ", ".join(" ".join(r) for r in self.ambiguous[word])
            why = f"'{word}' can mean {meanings}, and the readings lead to different answers"
        return MatchResult("suggest", question, normalised, score=best_score, suggestions=suggestions,
                           candidates=best, ambiguous_word=ambiguous, reason=why)
