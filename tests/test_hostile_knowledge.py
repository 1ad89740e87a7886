"""Hostile or odd knowledge files are refused with one FILE:LINE line each, never a hang, a crash or silence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from bot.knowledge import KnowledgeError, load_knowledge, safe_yaml
from bot.knowledge.safe_yaml import MAX_DEPTH
from tests.test_cli import pmbot

ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case holds with libyaml and with PyYAML's own loader, the fallback where libyaml is missing."""
    if request.param == "libyaml" and not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    monkeypatch.setattr(safe_yaml, "Loader", yaml.CSafeLoader if request.param == "libyaml" else yaml.SafeLoader)


def problems_for(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (ALIAS_BOMB, 2, "alias '*a' is not allowed"),
        ("not_about:\n  - &loop [*loop]\n", 2, "alias '*loop' is not allowed"),
        ("categories: &base\n  - id: x\nintents: *base\n", 3, "alias '*base' is not allowed"),
        ("not_about:\n  - <<: {a: 1}\n    b: 2\n", 2, "merge keys (<<) are not allowed"),
        ("not_about:\n  - " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", 2, f"nested more than {MAX_DEPTH} levels"),
        ("not_about:\n  - " + "[" * 100_000 + "]" * 100_000 + "\n", 2, "nest"),  # libyaml stops at its own limit
        ("not_about:\n  - fine\n  - a\x00b\n", 3, "contains a NUL byte"),
        ("not_about:\n  - fine\n\n  - bell \x07 here\n", 4, "control character U+0007"),
    ],
    ids=["alias-bomb", "recursive-alias", "plain-alias", "merge-key", "deep-nesting", "very-deep-nesting", "nul", "control-character"],
)
def test_hostile_yaml_gives_one_line_on_the_right_line(loader: None, knowledge_copy: Path, text: str, line: int, says: str) -> None:
    target = knowledge_copy / "hostile.yaml"
    target.write_text(text)
    problems = problems_for(knowledge_copy)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{target}:{line}: "), problems
    assert says in problems[0]


def test_merge_key_with_an_alias_is_still_one_line(loader: None, knowledge_copy: Path) -> None:
    (knowledge_copy / "hostile.yaml").write_text("x: &b {a: 1}\nnot_about:\n  - <<: *b\n    c: 2\n")
    assert len(problems_for(knowledge_copy)) == 1


@pytest.mark.parametrize("kind", ["loop", "dangling", "folder"])
def test_odd_entries_named_like_knowledge_are_reported_not_skipped(knowledge_copy: Path, kind: str) -> None:
    entry = knowledge_copy / "extra.yaml"
    if kind == "loop":
        os.symlink(entry.name, entry)  # extra.yaml -> extra.yaml
    elif kind == "dangling":
        os.symlink("missing.yaml", entry)
    else:
        entry.mkdir()
    problems = problems_for(knowledge_copy)
    assert len(problems) == 1 and problems[0].startswith(f"{entry}:1: "), problems
    assert {"loop": "leads nowhere", "dangling": "leads nowhere", "folder": "a folder"}[kind] in problems[0]


def test_validate_refuses_an_alias_bomb_in_one_line_and_exit_1(knowledge_copy: Path) -> None:
    (knowledge_copy / "bomb.yaml").write_text(ALIAS_BOMB)
    out = pmbot("validate", str(knowledge_copy))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [f"{knowledge_copy / 'bomb.yaml'}:2: YAML alias '*a' is not allowed in knowledge "
                                       "files; write the value out in full"]
    assert "Traceback" not in out.stderr
