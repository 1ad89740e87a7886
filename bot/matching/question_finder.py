"""Finds the question in a long message, so the bot answers what was asked and not the story before it.

Real messages put context first: "I've been a developer for six years and my
manager keeps hinting at a move. But here's what I can't work out: what does a
product manager actually do all day?" Matched whole, the preamble's words
(developer, manager, years) pull the answer towards whatever they resemble.
People mark their question: with a question mark, after a colon or a dash that
ends the lead-in, or in quotes (…makes me wonder, “why…?”). This module reads
the whole message, however long, and returns the parts that ask, then the
message itself for the context an indirect question needs; the matcher reads
the one whose best intent is likeliest the answer, by words and meaning (each
part embedded within the message), and an answer read from the whole message
must be one its question asks about (matcher.py), so the preamble alone never
decides.
"""

from __future__ import annotations

import re

from bot.matching.normalise import MAX_MESSAGE_CHARS

# A message this short is its own question: nothing to cut away.
SHORT_MESSAGE_WORDS = 14
# A question this short leans on the sentence before it ("My boss called it scope creep. What is that?").
LEANING_QUESTION_WORDS = 6
# After a colon or a dash, this many words at least make a question of their own ("Quick one: PM vs PjM?").
MIN_TAIL_WORDS = 3
MAX_QUESTIONS = 3  # "What is scope creep? How do I stop it?" is asked whole; more are a list, the first few kept
MAX_PARTS = 6  # question sentences offered at most: each costs the matcher a ranking

_SENTENCE = re.compile(r"[^.?!\n]*(?:[.?!]+|\n|$)")
# Dots that end no sentence: "P.M.", "e.g.", "U.S.", "vs.". Hidden from _SENTENCE, or "which role (e.g. PO or
# PM) should I pick?" is cut into pieces that each lack half the question.
_ABBREVIATION = re.compile(r"\b(?:[a-z]\.){2,}|\b(?:vs|mr|mrs|ms|dr)\.|\b(?:etc|approx)\.(?=\s*(?-i:[a-z0-9]))", re.I)
# "…the real question: …", "…one thing - what …", and a quoted question: '…makes me wonder, “What makes…?”'
# (an opening quote whose words run to a question mark before any closing quote).
_LEAD_IN = re.compile(r"(?::|\s[-–—]+\s|(?:^|(?<=\s))[“\"](?=\w[^“”\"]*\?))")
_WORD = re.compile(r"\w+")
# A clause ends at a sentence's end, a semicolon or a comma: "Works again after the restart. Thanks all ;)".
_CLAUSE = re.compile(r"[^.?!;,\n]*(?:[.?!;,]+|\n|$)")
# A clause that opens the way a question does, question mark or not: "thank you, and what's the time in Tokyo".
# Auxiliaries count only before their subject: "will do, thanks" and "can't wait, thanks" ask nothing.
_OPENS_QUESTION = re.compile(
    r"^\W*(?:(?:and|but|so|now|also|btw)\W+)?(?:what|how|why|when|where|who|which"
    r"|(?:can|could|would|will|do|does|did|should|is|are)\s+(?:you|i|we|someone|anyone|it|this|that|they|he|she)\b)",
    re.I,
)
# A request asks too, question mark or not: "please", "kindly", "let me know", a thank-you in advance ("thanks in
# advance", "TIA", "any leads will be appreciated"): a thank-you that signs off a request thanks for help not yet
# given. Not "looking for": "thanks for looking for it" thanks for help given.
_REQUESTS = re.compile(
    r"\b(?:please|pls|plz|kindly|in advance|tia|let me know"
    r"|(?:i[’']?ll|i[’']?d|would|will)\s+(?:\w+\s+)?(?:be\s+)?appreciated?)\b",
    re.I,
)
# A question that points back ("How do they differ?") needs the sentence that names what it points at.
_REFERS_BACK = re.compile(r"\b(?:they|them|these|those|both|it)\b", re.I)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _mask_abbreviations(text: str) -> str:
    """The text with its abbreviations' dots hidden from _SENTENCE and _CLAUSE, at the same length: spans fit `text`."""
    return _ABBREVIATION.sub(lambda m: m.group().replace(".", "\u2024"), text)


def _after_lead_in(sentence: str) -> str:
    """The sentence after its last colon or dash, if what follows is long enough to ask something."""
    parts = _LEAD_IN.split(sentence)
    tail = parts[-1].strip()
    return tail if len(parts) > 1 and _words(tail) >= MIN_TAIL_WORDS else sentence.strip()


def find_questions(message: str) -> list[str]:
    """The parts of a message that may be its question, likeliest first; the message itself when short.

    Each question sentence is offered after its lead-in, with the sentence before it when it is
    too short to stand alone or points back at it ("they", "them", "it"); several questions in a
    row are also offered together; and last the whole message, whose context an indirect question
    needs ("We shipped and the coordinator moved on. Does that always happen?"). The caller picks
    the one it is surest about: a rhetorical question in the preamble rarely is, and every offer
    holds a question, never the preamble alone.
    """
    text = "\n".join(" ".join(line.split()) for line in message[:MAX_MESSAGE_CHARS].splitlines()).strip()
    if _words(text) <= SHORT_MESSAGE_WORDS:
        return [text]
    spans = [m.span() for m in _SENTENCE.finditer(_mask_abbreviations(text)) if m.group().strip()]
    sentences = [text[start:end].strip() for start, end in spans]
    asked = [i for i, s in enumerate(sentences) if "?" in s]
    if not asked:
        # No question mark: a lead-in ending in a colon or dash still marks where the question starts.
        return list(dict.fromkeys([_after_lead_in(text), text]))
    found = []
    for i in asked[:MAX_PARTS]:
        question = _after_lead_in(sentences[i])
        if (_words(question) < LEANING_QUESTION_WORDS or _REFERS_BACK.search(question)) and i > 0 and question == sentences[i]:
            question = text[spans[i - 1][0] : spans[i][1]].strip()  # as written: the model reads it within the text
        found.append(question)
    if len(asked) > 1:
        found.append(" ".join(_after_lead_in(sentences[i]) for i in asked[:MAX_QUESTIONS]))
    return list(dict.fromkeys([*found, text]))


def _clauses(message: str) -> list[str]:
    text = message[:MAX_MESSAGE_CHARS]
    return [c for m in _CLAUSE.finditer(_mask_abbreviations(text)) if (c := text[m.start() : m.end()].strip())]


def asks(message: str) -> bool:
    """Whether the message asks something: a question mark, a clause that opens like a question, or a request."""
    if "?" in message or _REQUESTS.search(message[:MAX_MESSAGE_CHARS]):
        return True
    return any(_OPENS_QUESTION.match(c) for c in _clauses(message))


def short_clauses(message: str, max_words: int) -> list[str]:
    """The message's clauses of at most `max_words` words, in order: where a thank-you said in passing sits.

    Only short ones: a courtesy is a few words, and a long clause that mentions thanks is about
    something else ("thanks to the new release the build takes half the time it used to").
    """
    return [c for c in _clauses(message) if _words(c) <= max_words]
