"""The live knowledge and its matcher, swapped as one on reload.

Front ends hold a KnowledgeService, never a KnowledgeBase: a reload builds and
validates the new knowledge and matcher completely, then replaces a single
reference, so a failed reload changes nothing and a successful one is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge import KnowledgeBase, KnowledgeDiff, load_knowledge, source_files
from bot.matching import Matcher, MatchResult
from bot.matching.cache import IndexCache, Marks
from bot.matching.follow_up import read_after
from bot.matching.semantic import load_embedder
from bot.replies import Reply, build_reply


@dataclass(frozen=True)
class Answer:
    result: MatchResult
    reply: Reply


class KnowledgeService:
    def __init__(self, path: Path | str, cache: IndexCache | None = None, embedding_model: Path | None = None) -> None:
        """`cache`: where built indexes are kept between starts; `embedding_model`: a folder with another
        sentence-embedding model (PMBOT_EMBEDDING_MODEL) instead of the bundled one."""
        self.path = Path(path)
        self.cache = cache or IndexCache(None)
        self.schema_checked = Marks(self.cache, "schema-checked")  # unchanged files skip the costly schema check
        self.embedder = load_embedder(embedding_model, self.cache)
        self._matcher = self.check()

    @property
    def kb(self) -> KnowledgeBase:
        return self._matcher.kb

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    def unchanged(self) -> bool:
        """Whether the files on disk hold exactly what is served: then there is nothing to parse or build."""
        return source_files(self.path) == self.kb.sources

    def check(self) -> Matcher:
        """Loads and indexes the knowledge on disk, without serving it yet."""
        return self.index(load_knowledge(self.path, checked=self.schema_checked))

    def index(self, kb: KnowledgeBase) -> Matcher:
        """A matcher for `kb` with this service's model and cache, e.g. for an upload checked before it is written."""
        return Matcher(kb, self.embedder, self.cache)

    def swap(self, matcher: Matcher) -> KnowledgeDiff:
        diff = KnowledgeDiff.between(self._matcher.kb, matcher.kb)
        self._matcher = matcher
        return diff

    def reload(self) -> KnowledgeDiff:
        """Re-reads the knowledge; raises KnowledgeError and keeps serving the old one if it is broken."""
        if self.unchanged():
            return KnowledgeDiff.between(self.kb, self.kb)
        return self.swap(self.check())

    def ask(self, question: str, follows: str | None = None) -> Answer:
        """`follows`: the intent of the answer the question replies to, which a bare "and for project managers?"
        asks again of the other role (bot/matching/follow_up.py)."""
        matcher = self._matcher  # one snapshot for the whole question, even if a reload lands meanwhile
        result = matcher.match(question)
        if follows is not None:
            result = read_after(matcher, result, follows)
        return Answer(result, build_reply(matcher.kb, result))

    def ask_after(self, alone: Answer, follows: str) -> Answer:
        """`alone`, a question's answer read on its own, read again as a follow-up to the answer for `follows`:
        for a front end that only learns what the question follows once it has read it alone."""
        matcher = self._matcher
        result = read_after(matcher, alone.result, follows)
        return Answer(result, build_reply(matcher.kb, result))
