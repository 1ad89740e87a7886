"""The knowledge as the rest of pmbot sees it: plain, immutable values.

A KnowledgeBase is never edited in place. A reload builds a new one and the
front ends swap a single reference, so a question being answered while the
moderators reload always sees one consistent version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    colour: int


@dataclass(frozen=True)
class Intent:
    id: str
    category: str
    title: str
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    follow_ups: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class RoleRelation:
    role: str
    how: str


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    aliases: tuple[str, ...]
    summary: str
    focus: str
    owns: tuple[str, ...]
    answers: str
    skills: tuple[str, ...]
    success: str
    relates_to: tuple[RoleRelation, ...]
    intent: str | None


@dataclass(frozen=True)
class Dimension:
    name: str
    left: str
    right: str


@dataclass(frozen=True)
class Comparison:
    title: str
    left: str
    right: str
    dimensions: tuple[Dimension, ...]


@dataclass(frozen=True)
class SourceFile:
    """A file the knowledge came from, so /kb status can say what is loaded."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class KnowledgeBase:
    categories: Mapping[str, Category]
    intents: Mapping[str, Intent]
    roles: Mapping[str, Role]
    comparison: Comparison | None
    synonyms: Mapping[str, tuple[str, ...]]
    ambiguous: Mapping[str, tuple[str, ...]]
    cues: Mapping[str, tuple[str, ...]]  # a meaning of an ambiguous word -> words that show it is meant
    only_when_cued: frozenset[str]  # meanings read only when the message holds one of their cues
    not_about: tuple[str, ...]
    sources: tuple[SourceFile, ...]
    loaded_at: datetime

    @property
    def version(self) -> str:
        """A short fingerprint of the files' content: equal on every process serving the same knowledge.

        Made from file names and content hashes only, never folder paths, so
        hosts that mount the shared folder in different places still agree.
        """
        digest = hashlib.sha256()
        for source in sorted(self.sources, key=lambda s: s.path.name):
            digest.update(f"{source.path.name}\0{source.sha256}\n".encode())
        return digest.hexdigest()[:12]

    def intents_in(self, category: str) -> list[Intent]:
        return [i for i in self.intents.values() if i.category == category]

    def find_category(self, name: str) -> Category | None:
        """A category by id or title as people type them ("related roles", "Careers"), or a word of either if only one has it."""
        key = _key(name)
        if not key:
            return None
        for wanted in (
            lambda c: key in (_key(c.id), _key(c.title)),
            lambda c: f" {key} " in f" {_key(c.id)} ",
            lambda c: f" {key} " in f" {_key(c.title)} ",
        ):
            found = [c for c in self.categories.values() if wanted(c)]
            if len(found) == 1:
                return found[0]
        return None

    def find_role(self, name: str) -> Role | None:
        """Looks a role up by id, name or alias, the way people type it."""
        key = _key(name)
        for role in self.roles.values():
            if key in {_key(n) for n in (role.id, role.name, *role.aliases)}:
                return role
        return None


def _key(name: str) -> str:
    """A name as compared: case, hyphens and spacing do not matter."""
    return " ".join(name.casefold().replace("-", " ").split())


@dataclass(frozen=True)
class KnowledgeDiff:
    """What a reload changed, for the moderator who asked for it."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @classmethod
    def between(cls, old: KnowledgeBase, new: KnowledgeBase) -> KnowledgeDiff:
        added = tuple(sorted(new.intents.keys() - old.intents.keys()))
        removed = tuple(sorted(old.intents.keys() - new.intents.keys()))
        changed = tuple(
            sorted(i for i in new.intents.keys() & old.intents.keys() if new.intents[i] != old.intents[i])
        )
        return cls(added, removed, changed)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.empty:
            return "No intents changed."
        parts = []
        for label, ids in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            if ids:
                parts.append(f"{len(ids)} {label}: {', '.join(ids)}")
        return "; ".join(parts)
