"""Groups unanswered questions into knowledge gaps.

Maintainers do not want to read five hundred questions; they want "people
asked this 40 times, in these ways". :func:`cluster_questions` folds
near-duplicates (typos, word order, case, punctuation) into one :class:`Gap`.

Why not plain ``fuzz.token_set_ratio >= 80``: character-level scores rate
"what is a product manager" and "what is a project manager" 92% alike (two
letters differ), and ``token_set_ratio`` rates a question against any longer
one containing all its words 100 ("what is product management" vs "... vs
project management"). For a bot whose whole subject is product *versus*
project, that merges exactly the questions that must stay apart. So:

* similarity is decided per word (:func:`_word_similarity`): two words match
  only when equal or a small typo apart, and each weighs by its length, so
  "a" or "is" barely count;
* questions naming different roles (:data:`DEFAULT_CONTRASTS`, typos
  included) never merge, however alike the rest: in "what salary can a
  junior product manager expect" one word in nine differs, yet it and its
  project-manager twin are two different gaps.

Speed comes from rapidfuzz in C: each question is compared with all cluster
leaders at once by ``process.extract`` on its sorted letters (a bag-of-letters
score, which is provably >= the word score, so it never drops a real match);
only the leaders that survive reach the Python word check, best first,
stopping as soon as no remaining leader can beat the best found.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Collection, Final, Iterable, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from rapidfuzz.utils import default_process

__all__ = ["DEFAULT_CONTRASTS", "Gap", "cluster_questions"]

#: Single words naming *which* role a question is about, one set per role.
#: Questions only merge when they name the same roles. Plural and typo'd
#: forms of words of 5+ letters are recognised by similarity.
DEFAULT_CONTRASTS: Final[tuple[frozenset[str], ...]] = (
    frozenset({"product", "prod", "pdm", "pdms"}),
    frozenset({"project", "proj", "prj", "pjm", "pjms"}),
    frozenset({"program", "programme", "prog", "pgm", "pgms"}),
)

#: Two different words count as the same word (a typo) at this OSA
#: similarity: one edit or swap in a word of 4+ letters ("prodcut", "manger",
#: "managment"), but not "project" for "product" (2 edits in 7 = 0.71).
_WORD_MATCH: Final[float] = 0.75
#: Contrast terms shorter than this only match exactly: "prod" and "proj"
#: are one letter apart, so a fuzzy match between them means nothing.
_FUZZY_TERM_MIN: Final[int] = 5
#: Absorbs float rounding where two scores are compared.
_EPS: Final[float] = 1e-6


@dataclass(frozen=True, slots=True)
class Gap:
    """One cluster of near-duplicate questions.

    ``example`` is the cluster's most frequent text (as given), ``count`` the
    number of input texts in the cluster, ``variants`` every distinct text in
    it, most frequent first (``variants[0] == example``).
    """

    example: str
    count: int
    variants: tuple[str, ...]


@dataclass(slots=True)
class _Group:
    """Texts that are identical after normalisation (case, punctuation, spaces)."""

    key: str
    first_seen: int
    originals: Counter[str] = field(default_factory=Counter)
    words: dict[str, int] = field(init=False)
    letters: int = field(init=False)
    bag: str = field(init=False)

    def __post_init__(self) -> None:
        self.words = dict(Counter(self.key.split()))
        self.letters = sum(len(word) * n for word, n in self.words.items())
        # Sorted letters: the Indel similarity of two sorted strings is exactly
        # their multiset overlap, which rapidfuzz computes in C.
        self.bag = "".join(sorted(self.key.replace(" ", "")))

    @property
    def count(self) -> int:
        return sum(self.originals.values())


def _normalise(text: str) -> str:
    return " ".join(default_process(text).split())


def _word_similarity(a: _Group, b: _Group) -> float:
    """0..100: the length-weighted share of words two questions have in common.

    Order-insensitive (a multiset match). Words that are not equal may still
    pair up one-to-one when they are a typo apart (OSA similarity >=
    :data:`_WORD_MATCH`); such a pair counts in proportion to its similarity.

    Never exceeds the bag-of-letters score of the same pair: a word pair at
    OSA distance d shares at least max(len) - d letters, and contributes
    (1 - d / max(len)) * (len_x + len_y) <= 2 * (max(len) - d) here.
    """
    total = a.letters + b.letters
    if total == 0:
        return 100.0
    # Plain dict loops: Counter arithmetic was the hot spot on large inputs.
    unmatched_b = dict(b.words)
    rest_a: list[str] = []
    shared = 0
    for word, n in a.words.items():
        available = unmatched_b.get(word, 0)
        both = min(n, available)
        if both:
            shared += len(word) * both
            unmatched_b[word] = available - both
        if n > both:
            rest_a.extend([word] * (n - both))
    matched = 2.0 * shared
    rest_b = [word for word, n in unmatched_b.items() for _ in range(n)]
    if rest_a and rest_b:
        # One C call per word finds its typo partners; unrelated words are
        # rejected there (length filter, cutoff) without reaching Python.
        pairs = sorted(
            (
                (similarity, i, j)
                for i, x in enumerate(rest_a)
                for _, similarity, j in process.extract(
                    x, rest_b, scorer=OSA.normalized_similarity, score_cutoff=_WORD_MATCH, limit=None
                )
            ),
            reverse=True,
        )
        used_a: set[int] = set()
        used_b: set[int] = set()
        for similarity, i, j in pairs:
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            matched += similarity * (len(rest_a[i]) + len(rest_b[j]))
    return 100.0 * matched / total


class _SideFinder:
    """Which contrast sets (roles) a question names; cached per word."""

    def __init__(self, contrasts: Iterable[Collection[str]]) -> None:
        self._exact: dict[str, int] = {}
        self._fuzzy: list[tuple[str, int]] = []
        for side, terms in enumerate(contrasts):
            for term in terms:
                word = _normalise(term)
                if not word or " " in word:
                    raise ValueError(f"contrast terms must be single words, got {term!r}")
                if self._exact.setdefault(word, side) != side:
                    raise ValueError(f"contrast term {term!r} is in more than one set")
                if len(word) >= _FUZZY_TERM_MIN:
                    self._fuzzy.append((word, side))
        self._cache: dict[str, int | None] = {}

    def _side(self, word: str) -> int | None:
        if word in self._exact:
            return self._exact[word]
        if word not in self._cache:
            best: dict[int, float] = {}
            for term, side in self._fuzzy:
                similarity = OSA.normalized_similarity(word, term)
                if similarity >= _WORD_MATCH and similarity > best.get(side, 0.0):
                    best[side] = similarity
            ranked = sorted(best.items(), key=lambda item: -item[1])
            found: int | None = None
            # A word equally close to two roles names neither.
            if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                found = ranked[0][0]
            self._cache[word] = found
        return self._cache[word]

    def sides(self, group: _Group) -> frozenset[int]:
        return frozenset(side for word in group.words if (side := self._side(word)) is not None)


def cluster_questions(
    texts: Sequence[str],
    *,
    threshold: float = 80,
    contrasts: Iterable[Collection[str]] = DEFAULT_CONTRASTS,
) -> list[Gap]:
    """Groups near-duplicate questions; biggest gaps first.

    Greedy leader clustering: distinct questions are visited most frequent
    first; each joins the most similar existing leader that names the same
    ``contrasts`` sets and scores at least ``threshold`` (0..100, see
    :func:`_word_similarity`), or becomes a leader itself. Visiting by
    frequency makes the common phrasing the anchor that typo'd one-offs attach
    to. Texts empty after normalisation are ignored. Ties go to the bigger,
    earlier gap; the result is deterministic for a given input order.
    ``contrasts=()`` turns the role guard off.

    Cost: one C-level ``process.extract`` over the matching leaders per
    distinct question plus word checks of the few leaders that pass it,
    never a Python loop over all pairs.
    """
    if not 0 <= threshold <= 100:
        raise ValueError(f"threshold must be within 0..100, got {threshold!r}")
    side_finder = _SideFinder(contrasts)

    groups: dict[str, _Group] = {}
    first_index: dict[str, int] = {}
    for index, text in enumerate(texts):
        key = _normalise(text)
        if not key:
            continue
        first_index.setdefault(text, index)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(key, index)
        group.originals[text] += 1

    ordered = sorted(groups.values(), key=lambda g: (-g.count, g.first_seen))
    clusters: list[list[_Group]] = []
    # Leaders partitioned by the roles they name: (cluster indices, bags).
    leaders: dict[frozenset[int], tuple[list[int], list[str]]] = {}
    for group in ordered:
        indices, bags = leaders.setdefault(side_finder.sides(group), ([], []))
        best: int | None = None
        best_score = 0.0
        # Best bag score first; the bag score bounds the word score.
        candidates = process.extract(
            group.bag,
            bags,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=max(0.0, threshold - _EPS),
            limit=None,
        )
        for _, bound, position in candidates:
            if best is not None and bound + _EPS < best_score:
                break
            cluster = indices[position]
            score = _word_similarity(group, clusters[cluster][0])
            if score + _EPS < threshold:
                continue
            if best is None or score > best_score or (score == best_score and cluster < best):
                best, best_score = cluster, score
        if best is None:
            indices.append(len(clusters))
            bags.append(group.bag)
            clusters.append([group])
        else:
            clusters[best].append(group)

    gaps: list[tuple[int, int, Gap]] = []
    for members in clusters:
        originals: Counter[str] = Counter()
        for member in members:
            originals.update(member.originals)
        variants = tuple(sorted(originals, key=lambda t: (-originals[t], first_index[t])))
        count = sum(originals.values())
        first = min(member.first_seen for member in members)
        gaps.append((count, first, Gap(variants[0], count, variants)))
    gaps.sort(key=lambda item: (-item[0], item[1]))
    return [gap for _, _, gap in gaps]
