"""Teaching pmbot a question it missed: one more phrasing, in its intent's own file.

Shared by ``pmbot teach`` and ``/kb teach``. The file is edited as round-trip
YAML (ruamel.yaml), not re-dumped from plain data, because the knowledge files
are written by people: their comments, key order, quoting and indentation must
survive, so a teach shows up in ``git diff`` as the one line it added.

The whole knowledge must be valid before (a teach is no way to paper over a
broken file) and after (the edited file is validated together with the rest),
and nothing is written until both hold. Writing goes through
:class:`~bot.knowledge.files.KnowledgeFiles`, like an upload, so the replaced
file is backed up and ``/kb rollback`` undoes a teach.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process
from ruamel.yaml import YAML
from ruamel.yaml.util import load_yaml_guess_indent

from bot.knowledge.files import Backup, KnowledgeFiles
from bot.knowledge.loader import knowledge_files, load_knowledge, phrase_key, schema
from bot.knowledge.model import KnowledgeBase
from bot.matching.follow_up import bare_role
from bot.matching.cache import IndexCache
from bot.matching.index import NOT_ABOUT, load_or_build
from bot.matching.matcher import Matcher
from bot.matching.normalise import basic_tokens

CLOSE_IDS = 3  # how many similar intent ids an "unknown intent" refusal suggests
PHRASING_MAX: int = schema()["$defs"]["intent"]["properties"]["phrasings"]["items"]["maxLength"]


class TeachRefused(ValueError):
    """A teach that cannot be done, with a message that says what to do instead."""


class UnknownIntent(TeachRefused):
    def __init__(self, intent_id: str, close: list[str]) -> None:
        self.intent_id = intent_id
        self.close = close
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"There is no intent '{intent_id}'.{hint}")


@dataclass(frozen=True)
class Lesson:
    """A checked teach, not yet written: the file to change, its new text and the knowledge it gives."""

    question: str
    intent_id: str
    file: str
    text: str
    kb: KnowledgeBase


def close_intent_ids(kb: KnowledgeBase, typed: str, limit: int = CLOSE_IDS) -> list[str]:
    """Intent ids that look like what someone typed (a typo, a missing word), likeliest first."""
    typed = typed.casefold().strip()
    containing = [i for i in kb.intents if typed and typed in i]
    alike = [i for i, _, _ in process.extract(typed, list(kb.intents), scorer=fuzz.ratio, limit=limit, score_cutoff=60)]
    return list(dict.fromkeys(containing + alike))[:limit]


def likely_intents(matcher: Matcher, question: str, limit: int) -> list[str]:
    """The intents a question is closest to, best first: what to offer someone about to teach it."""
    ranked = matcher.rank(matcher.normaliser.tokens(question), limit=limit + 1)
    return [c.intent_id for c in ranked if c.intent_id != NOT_ABOUT][:limit]


def only_names_a_role(question: str) -> bool:
    """Whether the question only names a role ("what about project managers?"), which is never taught: what it asks
    depends on the answer it follows (bot/matching/follow_up.py)."""
    return bare_role(basic_tokens(question)) is not None


def is_taught(matcher: Matcher, question: str) -> bool:
    """True when the knowledge holds the question word for word (once normalised) as an intent's phrasing or title."""
    owner = matcher.verbatim.get(" ".join(matcher.normaliser.tokens(question)))
    return owner is not None and owner != NOT_ABOUT


def plan(folder: Path, question: str, intent_id: str, served: KnowledgeBase | None = None) -> Lesson:
    """Checks a teach and prepares the edited file; TeachRefused or KnowledgeError if it must not happen.

    `served` is knowledge already validated (the bot's): if the files on disk are still exactly
    what it was loaded from, it stands for them and they are not parsed again.
    """
    question = " ".join(question.split())
    if not question:
        raise TeachRefused("The question is empty: give the question as people ask it.")
    if not folder.is_dir():
        raise TeachRefused(f"{folder} is a single file: teaching needs PMBOT_KNOWLEDGE to be a folder of knowledge files.")
    kb = served if served is not None and _loaded_from_disk(served, folder) else load_knowledge(folder)  # KnowledgeError: fix it first
    if intent_id not in kb.intents:
        raise UnknownIntent(intent_id, close_intent_ids(kb, intent_id))
    _refuse_duplicate(kb, question)
    if only_names_a_role(question):
        raise TeachRefused(
            f"“{question}” only names a role, so what it asks depends on the answer it follows, and pmbot reads it "
            "that way. Taught to one intent, it would answer that intent whatever came before. Teach a question that "
            "says what it asks instead, such as “How much does a project manager earn?”."
        )
    name, text = _with_phrasing(folder, intent_id, question)
    return Lesson(question, intent_id, name, text, load_knowledge(folder, overrides={name: text}))


def teach(files: KnowledgeFiles, question: str, intent_id: str, cache: IndexCache) -> tuple[Lesson, Backup]:
    """Plans the teach, checks its wording and writes it, keeping the replaced file for ``/kb rollback``."""
    lesson = plan(files.folder, question, intent_id)
    refuse_shared_wording(lesson, cache)
    return lesson, files.install(lesson.file, lesson.text)


def refuse_shared_wording(lesson: Lesson, cache: IndexCache) -> None:
    """TeachRefused when the taught question, as pmbot normalises it, reads like another intent's text: those words
    would then be neither's (Matcher.verbatim), and pmbot would not answer the question as taught.

    Read from the lesson's words index, which knows how the question normalises, and not from a whole matcher: the
    model plays no part in it, so a refused teach costs no embedding, and ``pmbot teach`` on the host can afford it.
    """
    index = load_or_build(lesson.kb, cache)
    key = index.normaliser.tokens(lesson.question)
    other = next((e for e in index.entries + index.verbatim_only
                  if e.tokens == tuple(key) and e.intent_id != lesson.intent_id), None)
    if other is None:
        return
    whose = "an off-topic example (not_about)" if other.intent_id == NOT_ABOUT else f"a phrasing of '{other.intent_id}'"
    raise TeachRefused(
        f"“{lesson.question}” reads the same to pmbot as “{other.text}”, {whose} (pmbot folds spelling, plurals and "
        f"abbreviations), so taught to '{lesson.intent_id}' it would answer neither as written. Teach it where "
        "that one is, or reword one of them."
    )


def _loaded_from_disk(kb: KnowledgeBase, folder: Path) -> bool:
    on_disk = {(str(p), hashlib.sha256(p.read_text(encoding="utf-8").encode()).hexdigest()) for p in knowledge_files(folder)}
    return on_disk == {(str(s.path), s.sha256) for s in kb.sources}


def _refuse_duplicate(kb: KnowledgeBase, question: str) -> None:
    """The loader would refuse it too, but by FILE:LINE; this says which intent already has it."""
    key = phrase_key(question)
    for intent in kb.intents.values():
        if any(phrase_key(p) == key for p in intent.phrasings):
            raise TeachRefused(f"“{question}” is already a phrasing of intent '{intent.id}': nothing to teach.")
    if any(phrase_key(text) == key for text in kb.not_about):
        raise TeachRefused(
            f"“{question}” is listed under not_about (an off-topic example); remove it there first if pmbot should answer it."
        )


def _round_trip(text: str) -> YAML:
    """A ruamel.yaml instance that writes `text` back byte for byte: its indentation guessed, quotes kept, no re-wrapping."""
    _, sequence_indent, offset = load_yaml_guess_indent(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1_000_000  # never fold a long phrasing or answer onto a second line
    yaml.indent(mapping=2, sequence=sequence_indent or 2, offset=offset or 0)
    return yaml


def _with_phrasing(folder: Path, intent_id: str, question: str) -> tuple[str, str]:
    """The name of the file that holds the intent and its text with the question added to the intent's phrasings."""
    for path in knowledge_files(folder):
        text = path.read_text(encoding="utf-8")
        if intent_id not in text:
            continue
        yaml = _round_trip(text)
        data = yaml.load(text)
        for intent in data.get("intents") or []:
            if intent.get("id") == intent_id:
                intent["phrasings"].append(question)
                out = io.StringIO()
                yaml.dump(data, out)
                return path.name, out.getvalue()
    raise TeachRefused(f"Intent '{intent_id}' is loaded but no file in {folder} declares it; reload the knowledge and try again.")
