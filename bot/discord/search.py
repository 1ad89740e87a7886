"""Fuzzy look-ups for autocomplete: intents for /ask, roles for /role.

Autocomplete cannot be deferred and Discord gives up after 3 seconds, so
this stays simple and fast: one rapidfuzz pass (C code) over pre-processed
titles and phrasings, built once per KnowledgeBase and rebuilt after a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bot import limits
from bot.knowledge import KnowledgeBase, Role

MAX_QUERY = 100
MIN_SCORE = 45


def choice_text(text: str) -> str:
    """What an autocomplete choice may hold (name and value are both at most 100 characters)."""
    return limits.clip(" ".join(text.split()), limits.AUTOCOMPLETE_NAME)


@dataclass(frozen=True)
class IntentSearch:
    kb: KnowledgeBase
    texts: tuple[str, ...]
    ids: tuple[str, ...]
    by_title: dict[str, str]

    @classmethod
    def build(cls, kb: KnowledgeBase) -> IntentSearch:
        texts: list[str] = []
        ids: list[str] = []
        by_title: dict[str, str] = {}
        for intent in kb.intents.values():
            by_title.setdefault(intent.title.casefold(), intent.id)
            by_title.setdefault(choice_text(intent.title).casefold(), intent.id)
            for text in (intent.title, *intent.phrasings):
                processed = default_process(text)
                if processed:
                    texts.append(processed)
                    ids.append(intent.id)
        return cls(kb, tuple(texts), tuple(ids), by_title)

    def exact(self, question: str) -> str | None:
        """The intent whose title this is (what an autocomplete choice sends back), else None."""
        return self.by_title.get(" ".join(question.split()).casefold())

    def suggest(self, query: str, limit: int = limits.AUTOCOMPLETE_CHOICES) -> list[str]:
        """Intent ids for what the user has typed so far, best first, at most ``limit``."""
        processed = default_process(query[:MAX_QUERY])
        if not processed:
            return [i.id for i in self.kb.intents.values() if i.category != "meta"][:limit]
        hits = process.extract(
            processed, self.texts, scorer=fuzz.WRatio, processor=None, limit=limit * 6, score_cutoff=MIN_SCORE
        )
        found: list[str] = []
        for _, _, index in hits:
            intent_id = self.ids[index]
            if intent_id not in found:
                found.append(intent_id)
                if len(found) == limit:
                    break
        return found

    def titles(self, ids: Sequence[str]) -> list[str]:
        return [choice_text(self.kb.intents[i].title) for i in ids]


def suggest_roles(kb: KnowledgeBase, query: str, limit: int = limits.AUTOCOMPLETE_CHOICES) -> list[Role]:
    """Roles whose name or alias matches what is typed: substring matches first, then fuzzy ones."""
    key = default_process(query[:MAX_QUERY])
    roles = list(kb.roles.values())
    if not key:
        return roles[:limit]
    scored: list[tuple[float, int, Role]] = []
    for position, role in enumerate(roles):
        names = [default_process(n) for n in (role.name, *role.aliases)]
        if any(key in n for n in names):
            best = 200.0
        else:
            best = max(fuzz.WRatio(key, n) for n in names)
        if best >= MIN_SCORE:
            scored.append((-best, position, role))
    return [role for _, _, role in sorted(scored, key=lambda s: s[:2])][:limit]
