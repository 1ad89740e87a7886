"""Turns what people type in chat into comparable tokens.

The same pipeline runs over the knowledge's phrasings at load time and over
every question, so "What's the diff b/w a PdM & a proj mgr??" and "what is
the difference between a product manager and a project manager" end up as
nearly the same tokens before any fuzzy scoring happens.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Iterable, Mapping, Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.matching.cache import pack_strings, unpack_strings

MAX_INPUT_CHARS = 600  # the longest question /ask and /kb why take as a parameter
# Longer than any Discord message (4,000 characters with Nitro): a question at the end of a long post is still read.
MAX_MESSAGE_CHARS = 4000

# Mentions, channels, custom emoji and timestamps, and a mention as typed ("@lee-ann", from IRC, Slack or a bridge):
# a name is no topic. Not the "@" in an e-mail address.
_DISCORD_MARKUP = re.compile(r"<a?:\w+:\d+>|<[@#][!&]?\d+>|<t:\d+(?::\w)?>|(?<![\w.])@[\w.\-]*\w")
# A slash command as Discord mentions it, "</ask:1234…>" (shown as a clickable "/ask"): the command is the word.
_COMMAND_MENTION = re.compile(r"</([\w\- ]{1,100}):\d+>")
# A wave says hello: Discord's 👋 (any skin tone) and IRC's "o/", but not the cheer "\o/" nor "i/o".
_WAVE = re.compile(r"\U0001F44B[\U0001F3FB-\U0001F3FF]?|(?<![\w\\/])[oO]/(?![\w/])")
_URL = re.compile(r"<?(?:https?://|www\.)[^\s>]+>?")  # in <…>, Discord shows no preview
# A fenced code block holds what someone pasted (a log, a query, a config), never what they ask pmbot: its words and
# its "?" would be read as the question's. It reads as the word "code": "help??" under a pasted error asks for help
# with the code, not with pmbot. An unclosed fence is shown as typed, so it stays.
_CODE_BLOCK = re.compile(r"```.*?```", re.S)
# Discord's formatting, which is no part of the words: a masked link's address, bold, italics, underline,
# strike-through, spoilers and code marks, and the quote, heading and subtext marks that open a line.
# (No brackets inside its parts: each try then stops at the next one, so "[[[[…" takes linear time.)
_MASKED_LINK = re.compile(r"\[([^\[\]\n]+)\]\(<?(?:https?://|www\.)[^()\[\]\s]*>?\)")
_LINE_MARKS = re.compile(r"^[ \t]*(?:>>> |> |#{1,3} |-# )", re.M)
# Underscores and backticks only where they wrap a word: a quiz's blank ("______ is more senior") is part of the
# question, and a backtick inside a word ("don`t") stands for an apostrophe.
_FORMAT_MARKS = re.compile(r"\*+|~~|\|\||(?<!\w)`+|`+(?!\w)|(?<!\w)_{1,2}(?=[^\W_])|(?<=[^\W_])_{1,2}(?!\w)")
# Its lookbehinds are tried at every character (0.5 ms over 3,000): most text has none of its marks, and one search
# for them says so in a twentieth of that.
_FORMAT_MARK = re.compile(r"[*~|`_]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_CLOCK_TIME = re.compile(r"\b\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)(?!\w)")
_MESSAGE_VERB = re.compile(r"\b(?:pm|dm)(?:'?d|ed|ing)?\s+(me|you|him|her|us|them|u)\b")
# A quiz's stem names no topic: "Which of the following is a Scrum artifact?" asks which is a Scrum artifact.
_QUIZ_STEM = re.compile(r"\bwhich of the (?:following|below|these)\b")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Symbols people use for words when they type fast: "PdM = PjM?", "PjM -> PdM", "PdM > PjM?".
# A ">" at the start of a line is Discord's quote marker, not "more than".
_SYMBOL_WORDS = (
    (re.compile(r"!=|≠|=/="), " not same as "),
    (re.compile(r"->|→|=>"), " to "),
    (re.compile(r"==?"), " same as "),
    (re.compile(r"(?<=\w)[ \t]*>[ \t]*(?=\w)"), " more than "),
    (re.compile(r"(?<=\w)[ \t]*<[ \t]*(?=\w)"), " less than "),
)
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # "heyyy", "goood", "pleeease": no English word has a letter thrice
# Found word by word, not by one pattern that reaches back for the word's start: on a 4,000-letter word
# without a tripled letter that pattern backtracked for half a second.
_LETTERS = re.compile(r"[a-z]+")

# Contractions and chat shorthand: general English, not domain knowledge,
# so they live here rather than in the editable synonyms table.
_SHORTHAND: Mapping[str, str] = {
    "what's": "what is", "whats": "what is", "wats": "what is", "wat": "what", "wut": "what",
    "who's": "who is", "whos": "who is", "where's": "where is", "how's": "how is", "hows": "how is",
    "that's": "that is", "thats": "that is", "there's": "there is", "it's": "it is", "its": "it is",
    "let's": "let us", "isn't": "is not", "isnt": "is not", "aren't": "are not", "arent": "are not",
    "don't": "do not", "dont": "do not", "doesn't": "does not", "doesnt": "does not",
    "didn't": "did not", "didnt": "did not", "can't": "can not", "cant": "can not", "cannot": "can not",
    "won't": "will not", "wont": "will not", "shouldn't": "should not", "wouldn't": "would not",
    "i'm": "i am", "im": "i am", "you're": "you are", "youre": "you are", "they're": "they are",
    "we're": "we are", "i've": "i have", "ive": "i have", "i'll": "i will", "i'd": "i would",
    "u": "you", "ya": "you", "yu": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
    "plss": "please", "abt": "about", "bc": "because", "cuz": "because", "coz": "because",
    "btwn": "between", "betwen": "between", "wanna": "want to",
    "gonna": "going to", "gotta": "have to", "dunno": "do not know", "idk": "i do not know",
    "yrs": "years", "yr": "year", "hw": "how", "hv": "have", "n": "and", "&": "and", "thru": "through",
    "ppl": "people", "tho": "though", "dose": "does", "doe": "does", "rly": "really", "tryna": "trying to", "smth": "something", "sth": "something", "sb": "somebody",
}

# Words that carry no topic. Kept short on purpose: greetings and thanks are
# topics here (the meta intents), and question words tell intents apart
# ("who owns…", "how do I become…", "what does a … do"), so those stay in.
STOP_WORDS = frozenset(
    """a an the and or but if of to in on at for from by with about as into than then so too very
    is am are was were be been being did doing have has had having will would shall
    could may might must i me my mine myself you your yours we us our they them their he him his
    she her it this that these those there here what whom whose where
    not no yes just really actually basically like also any some all each every other another such
    own only much many please one ones thing things kind sort lot lots get got
    know tell explain someone something anyone anybody people person guy guys bro im ok okay
    lol lmao tbh ngl imo imho rn btw fr pretty quick question q
    honestly normally usually literally seriously totally exactly simply quite still even ever yet already
    maybe perhaps probably sure though seem seems sound sounds wonder wondering curious thought think
    trying bit almost else etc kinda sorta lowkey wait hmm um uh yeah yep nah omg haha folks everyone
    dude""".split()
)


_NOT_PLURAL = frozenset({"does", "goes", "has", "was", "yes", "always", "perhaps", "news", "series", "analysis"})


def fold_plural(token: str) -> str:
    """A crude English plural fold; it only needs to be consistent, not correct."""
    if token in _NOT_PLURAL:
        return token
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("sses", "ches", "shes", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is", "'s")):
        return token[:-1]
    return token


def without_markup(text: str) -> str:
    """The message as its author wrote it, without Discord's markup: mentions, links, emoji and formatting marks
    (a slash command's mention becomes the command as typed, "/ask"), and a pasted code block's contents.

    The matcher reads every message through this, the words (clean) and the model alike. The model reads the
    text as typed, so a mark moved its vector: "<@…> do I need a PMP certification to become a project manager?"
    or the question in bold was only offered its answer (59% sure, against 72% for the plain question).
    """
    text = text[:MAX_MESSAGE_CHARS]
    if "```" in text:
        text = _CODE_BLOCK.sub("\ncode\n", text)
    text = _MASKED_LINK.sub(r"\1", text)
    text = _LINE_MARKS.sub("", text)
    text = _URL.sub(" ", _DISCORD_MARKUP.sub(" ", _COMMAND_MENTION.sub(r"/\1", text)))
    return _FORMAT_MARKS.sub("", text) if _FORMAT_MARK.search(text) else text


def clean(text: str) -> str:
    """Unicode, case, Discord markup, mentions, URLs and accents removed; the text a person meant."""
    text = _WAVE.sub(" hello ", without_markup(text))
    text = text.translate(_APOSTROPHES)
    if not text.isascii():  # plain ASCII has no accents to strip: most text, at a fraction of the cost
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.casefold()
    if _STRETCHED.search(text):
        text = _LETTERS.sub(_unstretch, text)
    # "3pm", "5 p.m." is a time and "pm me" a private message, never a role.
    text = _CLOCK_TIME.sub(" time ", text)
    text = _MESSAGE_VERB.sub(r"message \1", text)
    text = _QUIZ_STEM.sub("which", text)
    text = re.sub(r"\bb/w\b", " between ", text)
    text = re.sub(r"\bw/o\b", " without ", text)
    text = re.sub(r"\bw/", " with ", text)
    for symbol, words in _SYMBOL_WORDS:
        text = symbol.sub(words, text)
    return text.replace("&", " and ").replace("/", " ")


def _unstretch(match: re.Match[str]) -> str:
    """'goood' -> 'good' (a real word with the letter twice), else 'heyyy' -> 'hey'; any other word as it is."""
    word = match.group()
    if not _STRETCHED.search(word):
        return word
    doubled = _STRETCHED.sub(r"\1\1", word)
    return doubled if doubled in _common_english_words() else _STRETCHED.sub(r"\1", word)


def basic_tokens(text: str) -> list[str]:
    """Tokens with contractions and chat shorthand expanded and plurals folded."""
    out: list[str] = []
    for raw in _TOKEN.findall(clean(text)):
        expanded = _SHORTHAND.get(raw)
        if expanded is None:
            expanded = raw.replace("'s", "").replace("'", "")
        out.extend(t if t in STOP_WORDS else fold_plural(t) for t in expanded.split())
    return out


@cache
def _common_english_words() -> frozenset[str]:
    """The words common in general English, so real words are never 'corrected' into domain words.

    A set of the 47,000 words counted at least COMMON_WORD_FREQUENCY times, not pyspellchecker's whole
    list with its counts (160,000 words): kept, the list held 13 MB of a bot process's memory, the set 5 MB.
    """
    from spellchecker import SpellChecker

    counts = SpellChecker(distance=1).word_frequency.dictionary
    return frozenset(word for word, count in counts.items() if count >= COMMON_WORD_FREQUENCY)


def base_forms(token: str) -> list[str]:
    """What an -ing or -ed word may come from: 'flattened' -> 'flatten', 'planned' -> 'plan', 'managed' -> 'manage'."""
    for suffix in ("ing", "ed"):
        stem = token[: -len(suffix)]
        if token.endswith(suffix) and len(stem) >= 3:
            forms = [stem, stem + "e"]
            if stem[-1] == stem[-2]:
                forms.append(stem[:-1])
            if suffix == "ed" and stem.endswith("i"):
                forms.append(stem[:-1] + "y")
            return forms
    return []


# Nouns that name a role only with the right word before them: "product owner"
# is ours, "server owner" is not.
HEAD_NOUNS = frozenset({"manager", "management", "owner", "master"})

ROLE_WORDS = ("product", "project", "program")  # after normalisation: PdM, proj mgmt… become these

COMMON_WORD_FREQUENCY = 100  # at or above this count in the English list a word is real, not a typo
NEAR_SPELLING_BATCH = 256  # words compared with the whole vocabulary in one call (a 256 × vocabulary matrix)


def _max_edits(token: str) -> int:
    return 1 if len(token) < 8 else 2


class Normaliser:
    """Normalisation tied to one knowledge base's vocabulary and synonym table."""

    def __init__(
        self, texts: Iterable[str], synonyms: Mapping[str, Iterable[str]], *, basic: Sequence[list[str]] | None = None
    ) -> None:
        """`basic`: the texts' basic_tokens, when the caller has them already (the index tokenises the same texts)."""
        texts = list(texts)
        basic = [basic_tokens(text) for text in texts] if basic is None else basic
        self._init_shared(synonyms)
        counts = Counter(t for tokens in (*basic, *map(basic_tokens, synonyms)) for t in tokens)
        variants = {t for key in self.phrases for t in key}
        counts.update(variants)
        # Ties go to the word the knowledge uses most ("creap" -> "creep", not "cheap").
        self._typo_targets = sorted((t for t in counts if len(t) >= 5 and not t.isdigit()), key=lambda t: -counts[t])
        self._corrections: dict[str, str] = {}  # the knowledge's own typos, fixed for good
        # Phrasings carry deliberate typos ("managment", "salery"). Left alone they
        # would become words of their own that only one intent knows, pulling any
        # question with the same typo towards that intent; so they are corrected
        # like a question's typos, towards a more common spelling in the knowledge.
        self.vocabulary = frozenset(counts)
        suspects = [
            token
            for token in sorted(counts)
            if token not in variants and token not in STOP_WORDS and len(token) >= 4 and not token.isdigit()
            and token not in _common_english_words()
        ]
        for token, near in zip(suspects, self._near_spellings(suspects)):
            fixed = next((target for target in near if target != token and target not in self._corrections), token)
            if fixed != token and counts[fixed] > counts[token]:
                self._corrections[token] = fixed
        self.vocabulary = frozenset(counts.keys() - self._corrections.keys())
        self.head_modifiers = self._head_modifiers(basic)

    def _init_shared(self, synonyms: Mapping[str, Iterable[str]]) -> None:
        """What a built and a restored Normaliser share: the synonym table and empty per-question lookups."""
        self.phrases: dict[tuple[str, ...], tuple[str, ...]] = {}  # variant tokens -> canonical tokens
        for canonical, variants in synonyms.items():
            canon = tuple(basic_tokens(canonical))
            for variant in variants:
                key = tuple(basic_tokens(variant))
                if key and key != canon:
                    self.phrases[key] = canon
        self.longest_phrase = max((len(k) for k in self.phrases), default=1)
        self.phrase_starts = frozenset(key[0] for key in self.phrases)
        self._targets_by_length: dict[tuple[int, int], list[str]] = {}
        self._seen: dict[str, str] = {}  # questions' unknown words, as corrected so far

    def state(self) -> dict[str, np.ndarray]:
        """What the knowledge taught it (vocabulary, its typos, role modifiers), as arrays for the index cache."""
        modifiers = [(head, word) for head, words in self.head_modifiers.items() for word in sorted(words)]
        return {
            "typo_targets": pack_strings(self._typo_targets),
            "vocabulary": pack_strings(sorted(self.vocabulary)),
            "corrected": pack_strings(list(self._corrections)),
            "corrections": pack_strings(list(self._corrections.values())),
            "heads": pack_strings([head for head, _ in modifiers]),
            "modifiers": pack_strings([word for _, word in modifiers]),
        }

    @classmethod
    def restore(cls, state: Mapping[str, np.ndarray], synonyms: Mapping[str, Iterable[str]]) -> Normaliser:
        """The Normaliser that produced `state`, without re-reading every phrasing (the synonym table is small)."""
        self = cls.__new__(cls)
        self._init_shared(synonyms)
        self._typo_targets = unpack_strings(state["typo_targets"])
        self.vocabulary = frozenset(unpack_strings(state["vocabulary"]))
        self._corrections = dict(zip(unpack_strings(state["corrected"]), unpack_strings(state["corrections"]), strict=True))
        modifiers: dict[str, set[str]] = {head: set() for head in HEAD_NOUNS}
        for head, word in zip(unpack_strings(state["heads"]), unpack_strings(state["modifiers"]), strict=True):
            modifiers[head].add(word)
        self.head_modifiers = {head: frozenset(words) for head, words in modifiers.items()}
        return self

    def _head_modifiers(self, basic: Sequence[list[str]]) -> dict[str, frozenset[str]]:
        """Which words the knowledge puts before "manager", "owner"…: product, project, scrum…"""
        seen: Counter[tuple[str, str]] = Counter()
        for text_tokens in basic:
            tokens = self.apply_synonyms([self.correct(t) for t in text_tokens])
            seen.update((a, b) for a, b in zip(tokens, tokens[1:]) if b in HEAD_NOUNS)
        return {
            head: frozenset(a for (a, b), n in seen.items() if b == head and n >= 2)
            for head in HEAD_NOUNS
        }

    def mark_foreign_heads(self, tokens: list[str]) -> list[str]:
        """'hotel manager' is not a role pmbot knows: its 'manager' must not count as ours."""
        out: list[str] = []
        for token in tokens:
            before = out[-1] if out else None
            if token in HEAD_NOUNS and before and before not in STOP_WORDS and before not in self.head_modifiers[token]:
                out[-1] = f"{before}-{token}"  # one word the knowledge has never seen
            else:
                out.append(token)
        return out

    def tokens(self, text: str) -> list[str]:
        """The full pipeline: basic tokens, typo correction, synonyms, then foreign roles marked."""
        return self.refine(basic_tokens(text))

    def refine(self, basic: list[str]) -> list[str]:
        """The pipeline after basic_tokens: typo correction, synonyms, then foreign roles marked."""
        return self.mark_foreign_heads(self.apply_synonyms([self.correct(t) for t in basic]))

    def correct(self, token: str) -> str:
        """The knowledge's word for a word it does not use: its base form ('scoped' -> 'scope'), else the nearest spelling."""
        if token in self.vocabulary or token in STOP_WORDS or len(token) < 4 or token.isdigit():
            return token
        fixed = self._corrections.get(token) or self._seen.get(token)
        if fixed is None:
            if len(self._seen) > 50_000:  # bounded: chat can invent words forever
                self._seen.clear()
            # The role words are nouns here; their -ed and -ing forms are other verbs ("who programmed you",
            # "the projected revenue"), so none is read as one ("programme" is "program" after synonyms).
            base = next(
                (b for b in base_forms(token) if b in self.vocabulary and self.apply_synonyms([b])[0] not in ROLE_WORDS),
                None,
            )
            fixed = self._seen[token] = base or self._closest(token)
        return fixed

    def _closest(self, token: str) -> str:
        if token in _common_english_words():
            return token
        return self._nearest(token)

    def _nearest(self, token: str) -> str:
        max_edits = _max_edits(token)
        for target, distance, _ in process.extract(
            token, self._targets_of_length(len(token), max_edits), scorer=OSA.distance, score_cutoff=max_edits, limit=3
        ):
            if target not in self._corrections:
                return target
        return token

    def _near_spellings(self, tokens: list[str]) -> list[list[str]]:
        """For each token, what :meth:`_nearest` would weigh: the three closest typo targets, closest first.

        The same comparison for the knowledge's whole vocabulary at once, one length at a time:
        a word-by-word loop costs more in Python than the comparisons themselves.
        """
        found: dict[str, list[str]] = {}
        by_length: dict[int, list[str]] = {}
        for token in tokens:
            by_length.setdefault(len(token), []).append(token)
        for length, group in by_length.items():
            edits = _max_edits(group[0])
            targets = self._targets_of_length(length, edits)
            for start in range(0, len(group), NEAR_SPELLING_BATCH):
                batch = group[start : start + NEAR_SPELLING_BATCH]
                distances = process.cdist(batch, targets, scorer=OSA.distance, score_cutoff=edits, dtype=np.int32)
                for token, row in zip(batch, distances):
                    close = np.flatnonzero(row <= edits)
                    nearest = close[np.argsort(row[close], kind="stable")[:3]]
                    found[token] = [targets[i] for i in nearest.tolist()]
        return [found[token] for token in tokens]

    def _targets_of_length(self, length: int, edits: int) -> list[str]:
        """The typo targets within `edits` letters of `length`, in the same order: no other can be that close.

        Comparing a new word with only these is what keeps a message full of unknown words fast.
        """
        key = (length, edits)
        if key not in self._targets_by_length:
            self._targets_by_length[key] = [t for t in self._typo_targets if abs(len(t) - length) <= edits]
        return self._targets_by_length[key]

    def apply_synonyms(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i] not in self.phrase_starts:
                out.append(tokens[i])
                i += 1
                continue
            for size in range(min(self.longest_phrase, len(tokens) - i), 0, -1):
                canon = self.phrases.get(tuple(tokens[i : i + size]))
                if canon is not None:
                    out.extend(canon)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out
