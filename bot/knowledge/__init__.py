"""Knowledge: the curated YAML, loaded and validated into an immutable KnowledgeBase."""

from bot.knowledge.loader import KnowledgeError, Problem, knowledge_files, load_knowledge, parse_knowledge, source_files
from bot.knowledge.model import (
    Category,
    Comparison,
    Dimension,
    Intent,
    KnowledgeBase,
    KnowledgeDiff,
    Role,
    RoleRelation,
)

__all__ = [
    "Category",
    "Comparison",
    "Dimension",
    "Intent",
    "KnowledgeBase",
    "KnowledgeDiff",
    "KnowledgeError",
    "Problem",
    "Role",
    "RoleRelation",
    "knowledge_files",
    "load_knowledge",
    "parse_knowledge",
    "source_files",
]
