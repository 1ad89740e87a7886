"""Reads knowledge YAML and reports every problem as FILE:LINE: message.

Moderators edit these files by hand, often from a phone in Discord, so a
mistake must point at the exact line and must never take the bot down: the
loader either returns a complete, valid KnowledgeBase or raises
KnowledgeError with all problems found, and the caller keeps the old one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

import yaml
from yaml.constructor import SafeConstructor

from bot import limits
from bot.knowledge import safe_yaml
from bot.knowledge.model import (
    Category,
    Comparison,
    Dimension,
    Intent,
    KnowledgeBase,
    Role,
    RoleRelation,
    SourceFile,
)

if TYPE_CHECKING:  # imported by the first check: a start whose files passed it before never needs jsonschema
    import jsonschema

SCHEMA_NAME = "schema.json"
YAML_SUFFIXES = (".yaml", ".yml")
REPLY_FOOTER_ALLOWANCE = 200  # room kept for the footer and follow-up hints the front ends add

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge cannot be used; `problems` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema (knowledge/schema.json links to it): editors and the bot check the same rules.

    It ships inside the package so a mounted knowledge folder without it still validates.
    """
    return json.loads((Path(__file__).with_name(SCHEMA_NAME)).read_text())


@cache
def _validator() -> jsonschema.Draft202012Validator:
    """The schema with its local $refs written out in place.

    Resolving a $ref costs jsonschema more than checking the value it points to, and a
    knowledge load checks thousands of values: written out, validation takes half the time.
    A $ref whose neighbours would clash with its target's keywords is left as it is.
    """
    whole = schema()
    defs = whole.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix("#/$defs/") in defs:
            target = defs[ref.removeprefix("#/$defs/")]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if not (rest.keys() & target.keys()) - {"description"}:
                return inline({**target, **rest})
        return {key: inline(value) for key, value in node.items()}

    import jsonschema

    return jsonschema.Draft202012Validator(inline(whole))


class SchemaChecked(Protocol):
    """Keys of file sets that passed the schema check (a set, or one kept on disk between starts).

    Checking thousands of values is most of a load's cost; the same texts against the same
    schema and checking code pass again, so a key of all three is enough to skip it.
    """

    def __contains__(self, key: object) -> bool: ...

    def add(self, key: str) -> None: ...


@cache
def _checker_version() -> str:
    """The schema and this module's code: a check made by other rules is not trusted."""
    return hashlib.sha256(Path(__file__).read_bytes() + json.dumps(schema(), sort_keys=True).encode()).hexdigest()


@dataclass
class _Document:
    """One parsed file plus where each value stood, to turn paths into line numbers."""

    name: str
    data: Any
    lines: dict[Path_, int]
    key_lines: dict[Path_, int]

    def line(self, path: Iterable[str | int]) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}


def _build(node: yaml.Node, path: Path_, doc: _Document, problems: list[Problem]) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        problems.append(Problem(doc.name, node.start_mark.line + 1, f"unsupported YAML tag {node.tag}; use plain text, lists and mappings"))
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                problems.append(Problem(doc.name, key_node.start_mark.line + 1, "merge keys (<<) are not allowed; write the fields out"))
                continue
            key = SafeConstructor().construct_object(key_node, deep=True)
            if not isinstance(key, str):
                problems.append(Problem(doc.name, key_node.start_mark.line + 1, f"keys must be text, not {key!r}"))
                continue
            if key in result:
                problems.append(
                    Problem(doc.name, key_node.start_mark.line + 1, f"duplicate key '{key}' (the earlier one would be lost)")
                )
            doc.key_lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, path + (key,), doc, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), doc, problems) for i, item in enumerate(node.value)]
    return SafeConstructor().construct_object(node, deep=True)


def _parse(name: str, text: str, problems: list[Problem]) -> _Document | None:
    doc = _Document(name, None, {}, {})
    try:
        node = safe_yaml.compose(text)
    except safe_yaml.UnsafeYaml as exc:
        problems.append(Problem(name, exc.line, str(exc)))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, safe_yaml.error_line(exc), f"YAML syntax error: {safe_yaml.error_message(exc)}"))
        return None
    if node is None:
        problems.append(Problem(name, 1, "the file is empty"))
        return None
    try:
        doc.data = _build(node, (), doc, problems)
    except yaml.YAMLError as exc:
        problems.append(Problem(name, safe_yaml.error_line(exc), f"YAML error: {safe_yaml.error_message(exc)}"))
        return None
    return doc


def _schema_problems(doc: _Document) -> list[Problem]:
    found = []
    for error in _validator().iter_errors(doc.data):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(k for k in error.instance if k not in allowed):
                line = doc.key_lines.get(path + (key,), doc.line(path))
                hint = f"; expected one of: {', '.join(sorted(allowed))}" if allowed else ""
                found.append(Problem(doc.name, line, f"unknown field '{key}'{hint}"))
            continue
        found.append(Problem(doc.name, doc.line(path), _describe(error, path)))
    return found


def _describe(error: jsonschema.ValidationError, path: Path_) -> str:
    where = ".".join(str(p) for p in path) or "file"
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"{where}: missing required field '{missing[0] if missing else error.message}'"
    if error.validator == "type":
        return f"{where}: must be {error.validator_value}, got {type(error.instance).__name__}"
    if error.validator in ("minLength", "pattern") and isinstance(error.instance, str) and not error.instance.strip():
        return f"{where}: must not be empty"
    if error.validator == "maxLength":
        return f"{where}: {len(error.instance)} characters, over the limit of {error.validator_value}"
    if error.validator == "minItems":
        return f"{where}: needs at least {error.validator_value} item(s)"
    if error.validator == "maxItems":
        return f"{where}: at most {error.validator_value} item(s) allowed"
    if error.validator == "pattern" and path and path[-1] in ("id", "category", "role", "left", "right", "intent"):
        return f"{where}: '{error.instance}' is not a valid id (lowercase words joined by '-')"
    return f"{where}: {error.message}"


def _norm_phrase(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


#: Two phrasings with the same key are one phrasing: the loader refuses the second, and so does teaching.
phrase_key = _norm_phrase


class _Assembler:
    """Merges the files and checks what no schema can: ids, references and sizes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.categories: dict[str, tuple[Category, _Document, Path_]] = {}
        self.intents: dict[str, tuple[Intent, _Document, Path_]] = {}
        self.roles: dict[str, tuple[Role, _Document, Path_]] = {}
        self.comparison: tuple[Comparison, _Document, Path_] | None = None
        self.synonyms: dict[str, tuple[str, ...]] = {}
        self.synonym_owner: dict[str, tuple[str, _Document, Path_]] = {}
        self.ambiguous: dict[str, tuple[str, ...]] = {}
        self.cues: dict[str, tuple[tuple[str, ...], _Document, Path_]] = {}
        self.only_when_cued: dict[str, tuple[_Document, Path_]] = {}
        self.phrasings: dict[str, tuple[str, _Document, Path_]] = {}
        self.not_about: list[tuple[str, _Document, Path_]] = []

    def problem(self, doc: _Document, path: Path_, message: str) -> None:
        self.problems.append(Problem(doc.name, doc.line(path), message))

    def _claim(self, table: dict, key: str, value: Any, doc: _Document, path: Path_, what: str) -> None:
        if key in table:
            _, other, other_path = table[key]
            self.problem(doc, path + ("id",), f"duplicate {what} id '{key}' (also at {other.name}:{other.line(other_path)})")
        else:
            table[key] = (value, doc, path)

    def add(self, doc: _Document) -> None:
        data = doc.data
        for i, raw in enumerate(data.get("categories", [])):
            cat = Category(raw["id"], raw["title"].strip(), int(raw["colour"][1:], 16))
            self._claim(self.categories, cat.id, cat, doc, ("categories", i), "category")
        for i, raw in enumerate(data.get("intents", [])):
            self._add_intent(raw, doc, ("intents", i))
        for i, raw in enumerate(data.get("roles", [])):
            role = Role(
                id=raw["id"],
                name=raw["name"].strip(),
                aliases=tuple(a.strip() for a in raw.get("aliases", [])),
                summary=raw["summary"].strip(),
                focus=raw["focus"].strip(),
                owns=tuple(o.strip() for o in raw["owns"]),
                answers=raw["answers"].strip(),
                skills=tuple(s.strip() for s in raw["skills"]),
                success=raw["success"].strip(),
                relates_to=tuple(RoleRelation(r["role"], r["how"].strip()) for r in raw["relates_to"]),
                intent=raw.get("intent"),
            )
            self._claim(self.roles, role.id, role, doc, ("roles", i), "role")
        if "comparison" in data:
            raw = data["comparison"]
            if self.comparison:
                other = self.comparison[1]
                self.problem(doc, ("comparison",), f"a second comparison (the first is in {other.name})")
            else:
                dims = tuple(Dimension(d["name"].strip(), d["left"].strip(), d["right"].strip()) for d in raw["dimensions"])
                self.comparison = (Comparison(raw["title"].strip(), raw["left"], raw["right"], dims), doc, ("comparison",))
        for canonical, variants in data.get("synonyms", {}).items():
            self._add_synonyms(canonical, variants, doc)
        for j, text in enumerate(data.get("not_about", [])):
            self.not_about.append((text.strip(), doc, ("not_about", j)))
        for word, readings in data.get("ambiguous", {}).items():
            key = _norm_phrase(word)
            if key in self.ambiguous:
                self.problem(doc, ("ambiguous", word), f"'{word}' is declared ambiguous twice")
            self.ambiguous[key] = tuple(_norm_phrase(r) for r in readings)
        for meaning, words in data.get("cues", {}).items():
            key = _norm_phrase(meaning)
            if key in self.cues:
                self.problem(doc, ("cues", meaning), f"'{meaning}' has cues twice; keep one list")
            self.cues[key] = (tuple(_norm_phrase(w) for w in words), doc, ("cues", meaning))
        for j, meaning in enumerate(data.get("only_when_cued", [])):
            self.only_when_cued[_norm_phrase(meaning)] = (doc, ("only_when_cued", j))

    def _add_intent(self, raw: dict[str, Any], doc: _Document, path: Path_) -> None:
        intent = Intent(
            id=raw["id"],
            category=raw["category"],
            title=raw["title"].strip(),
            phrasings=tuple(p.strip() for p in raw["phrasings"]),
            keywords=tuple(k.strip() for k in raw.get("keywords", [])),
            answer=raw["answer"].strip(),
            follow_ups=tuple(raw["follow_ups"]),
            source=raw["source"],
        )
        self._claim(self.intents, intent.id, intent, doc, path, "intent")
        for j, phrasing in enumerate(intent.phrasings):
            key = _norm_phrase(phrasing)
            owner = self.phrasings.get(key)
            if owner and owner[0] != intent.id:
                other_id, other, other_path = owner
                self.problem(
                    doc,
                    path + ("phrasings", j),
                    f"phrasing '{phrasing}' is also under intent '{other_id}' ({other.name}:{other.line(other_path)});"
                    " keep it under one intent",
                )
            elif owner:
                self.problem(doc, path + ("phrasings", j), f"phrasing '{phrasing}' is listed twice")
            else:
                self.phrasings[key] = (intent.id, doc, path + ("phrasings", j))
        if len(intent.title) > limits.BUTTON_LABEL:
            self.problem(
                doc, path + ("title",), f"title is {len(intent.title)} characters; suggestion buttons show at most {limits.BUTTON_LABEL}"
            )
        total = len(intent.title) + len(intent.answer) + REPLY_FOOTER_ALLOWANCE
        if total > limits.EMBED_TOTAL:
            self.problem(doc, path + ("answer",), f"title and answer total {total} characters; one embed holds {limits.EMBED_TOTAL}")

    def _add_synonyms(self, canonical: str, variants: list[str], doc: _Document) -> None:
        canon = _norm_phrase(canonical)
        for j, variant in enumerate(variants):
            key = _norm_phrase(variant)
            if not key:
                continue
            owner = self.synonym_owner.get(key)
            if owner and owner[0] != canon:
                self.problem(doc, ("synonyms", canonical, j), f"'{variant}' already stands for '{owner[0]}'")
            self.synonym_owner[key] = (canon, doc, ("synonyms", canonical, j))
        self.synonyms[canon] = tuple(dict.fromkeys((*self.synonyms.get(canon, ()), *map(_norm_phrase, variants))))

    def check_not_about(self) -> None:
        for text, doc, path in self.not_about:
            owner = self.phrasings.get(_norm_phrase(text))
            if owner:
                self.problem(doc, path, f"'{text}' is also a phrasing of intent '{owner[0]}'; it cannot be both")

    def check_references(self) -> None:
        meanings = {m for readings in self.ambiguous.values() for m in readings}
        for meaning, (_, doc, path) in self.cues.items():
            if meaning not in meanings:
                known = ", ".join(sorted(meanings)) or "none declared under `ambiguous`"
                self.problem(doc, path, f"'{meaning}' has cues but is no meaning of an ambiguous word (meanings: {known})")
        for meaning, (doc, path) in self.only_when_cued.items():
            if meaning not in self.cues:
                self.problem(doc, path, f"'{meaning}' is read only when cued, but has no cues: list some under `cues`")
        for intent, doc, path in self.intents.values():
            if intent.category not in self.categories:
                known = ", ".join(sorted(self.categories)) or "none defined"
                self.problem(doc, path + ("category",), f"unknown category '{intent.category}' (known: {known})")
            for j, ref in enumerate(intent.follow_ups):
                if ref == intent.id:
                    self.problem(doc, path + ("follow_ups", j), "an intent cannot be its own follow-up")
                elif ref not in self.intents:
                    self.problem(doc, path + ("follow_ups", j), f"follow-up '{ref}' is not an intent id")
        for role, doc, path in self.roles.values():
            for j, rel in enumerate(role.relates_to):
                if rel.role not in self.roles:
                    self.problem(doc, path + ("relates_to", j, "role"), f"role '{rel.role}' does not exist")
            if role.intent and role.intent not in self.intents:
                self.problem(doc, path + ("intent",), f"intent '{role.intent}' does not exist")
            size = len(role.name) + len(role.summary) + len(role.focus) + len(role.answers) + len(role.success)
            size += sum(map(len, role.owns + role.skills)) + sum(len(r.how) + 40 for r in role.relates_to)
            if size + REPLY_FOOTER_ALLOWANCE > limits.EMBED_TOTAL:
                self.problem(doc, path, f"role summary totals {size} characters; one embed holds {limits.EMBED_TOTAL}")
        if self.comparison:
            comp, doc, path = self.comparison
            for side in ("left", "right"):
                if getattr(comp, side) not in self.roles:
                    self.problem(doc, path + (side,), f"role '{getattr(comp, side)}' does not exist")
            size = len(comp.title) + sum(len(d.name) + len(d.left) + len(d.right) for d in comp.dimensions)
            if size + REPLY_FOOTER_ALLOWANCE > limits.EMBED_TOTAL:
                self.problem(doc, path, f"comparison totals {size} characters; one embed holds {limits.EMBED_TOTAL}")

    def result(self, sources: tuple[SourceFile, ...]) -> KnowledgeBase:
        def freeze(table: dict[str, tuple[Any, _Document, Path_]]) -> Mapping[str, Any]:
            return MappingProxyType({k: v[0] for k, v in table.items()})

        return KnowledgeBase(
            categories=freeze(self.categories),
            intents=freeze(self.intents),
            roles=freeze(self.roles),
            comparison=self.comparison[0] if self.comparison else None,
            synonyms=MappingProxyType(dict(self.synonyms)),
            ambiguous=MappingProxyType(dict(self.ambiguous)),
            cues=MappingProxyType({meaning: words for meaning, (words, _, _) in self.cues.items()}),
            only_when_cued=frozenset(self.only_when_cued),
            not_about=tuple(text for text, _, _ in self.not_about),
            sources=sources,
            loaded_at=datetime.now(timezone.utc),
        )


def knowledge_files(path: Path) -> list[Path]:
    """The YAML files that make up the knowledge at `path` (a folder or one file)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    return [path]


def source_files(path: Path) -> tuple[SourceFile, ...] | None:
    """The sources load_knowledge would record for `path`, from a read of the files without parsing them.

    None when they cannot all be read, or something named like knowledge is not a file:
    then only a full load can say what is wrong.
    """
    if path.is_dir() and _odd_entries(path):
        return None
    try:
        return tuple(SourceFile(file, _sha256(file.read_text(encoding="utf-8"))) for file in knowledge_files(path))
    except (OSError, UnicodeDecodeError):
        return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _odd_entries(folder: Path) -> list[Problem]:
    """Entries named like knowledge that are not regular files: skipping them silently would hide an intent."""
    problems = []
    for entry in sorted(folder.iterdir()):
        if entry.suffix not in YAML_SUFFIXES or entry.is_file():
            continue
        if entry.is_symlink() and not entry.exists():
            why = "a link that leads nowhere (its target is missing, or it links back to itself)"
        elif entry.is_dir():
            why = "a folder, not a file; rename it so its name does not end in .yaml or .yml"
        else:
            why = "not a regular file"
        problems.append(Problem(str(entry), 1, f"{why}; knowledge files must be plain YAML files"))
    return problems


def load_knowledge(path: Path | str, overrides: Mapping[str, str | None] | None = None,
                   checked: SchemaChecked | None = None) -> KnowledgeBase:
    """Loads a folder (or a single file) of knowledge, or raises KnowledgeError.

    `overrides` maps a file name to replacement text (None: the file left out), so an
    upload or a rollback can be validated together with the rest before anything on disk changes.
    `checked`: file sets known to pass the schema check, which is then skipped (see parse_knowledge).
    """
    path = Path(path)
    if not path.exists():
        raise KnowledgeError([Problem(str(path), 1, "no such file or folder; pass the knowledge folder, e.g. knowledge/")])
    problems = _odd_entries(path) if path.is_dir() else []
    texts: dict[str, tuple[str, str]] = {}  # file name -> (shown name, text)
    for file in knowledge_files(path):
        try:
            texts[file.name] = (str(file), file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(file), 1, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"))
        except OSError as exc:
            problems.append(Problem(str(file), 1, f"cannot read the file: {exc.strerror or exc}"))
    if problems:
        raise KnowledgeError(problems)
    base = path if path.is_dir() else path.parent
    for name, text in (overrides or {}).items():
        if text is None:
            texts.pop(name, None)
        else:
            texts[name] = (str(base / name), text)
    if not texts:
        raise KnowledgeError([Problem(str(path), 1, "no .yaml files found")])
    return parse_knowledge(texts.values(), checked)


def parse_knowledge(files: Iterable[tuple[str, str]], checked: SchemaChecked | None = None) -> KnowledgeBase:
    """Builds a KnowledgeBase from (name, text) pairs; all problems are collected before raising.

    `checked` holds the file sets that passed the schema check before: the same texts skip it
    (every other check still runs), and a set that passes it now is added.
    """
    problems: list[Problem] = []
    docs: list[_Document] = []
    sources = []
    files = list(files)
    digests = [_sha256(text) for _, text in files]
    key = hashlib.sha256("\n".join([_checker_version(), *digests]).encode()).hexdigest()
    known_valid = checked is not None and key in checked
    for (name, text), digest in zip(files, digests):
        sources.append(SourceFile(Path(name), digest))
        before = len(problems)
        doc = _parse(name, text, problems)
        if doc is None or len(problems) > before:  # the schema would only repeat what is already said
            continue
        schema_problems = [] if known_valid else _schema_problems(doc)
        problems.extend(schema_problems)
        if not schema_problems:
            docs.append(doc)
    if problems:
        raise KnowledgeError(problems)
    if checked is not None and not known_valid:
        checked.add(key)
    assembler = _Assembler()
    for doc in docs:
        assembler.add(doc)
    if not assembler.intents:
        assembler.problems.append(Problem(docs[0].name if docs else "knowledge", 1, "no intents defined"))
    assembler.check_references()
    assembler.check_not_about()
    if assembler.problems:
        raise KnowledgeError(assembler.problems)
    return assembler.result(tuple(sources))
