"""The loader: the shipped knowledge is complete, and every kind of mistake is reported as FILE:LINE."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.knowledge import KnowledgeBase, KnowledgeDiff, KnowledgeError, load_knowledge, parse_knowledge
from tests.conftest import KNOWLEDGE, SHARED

CATALOG = SHARED / "spec" / "intents.yaml"

GOOD = textwrap.dedent(
    """\
    categories:
      - id: basics
        title: Basics
        colour: "#112233"
    intents:
      - id: alpha
        category: basics
        title: What is alpha?
        phrasings: [what is alpha, explain alpha, alpha meaning]
        answer: Alpha is the first letter.
        follow_ups: [beta]
        source: general
      - id: beta
        category: basics
        title: What is beta?
        phrasings: [what is beta, explain beta, beta meaning]
        answer: Beta is the second letter.
        follow_ups: [alpha]
        source: general
    """
)


def problems_of(text: str, name: str = "kb.yaml") -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge([(name, text)])
    return [str(p) for p in caught.value.problems]


def test_good_knowledge_loads() -> None:
    kb = parse_knowledge([("kb.yaml", GOOD)])
    assert set(kb.intents) == {"alpha", "beta"}
    assert kb.intents["alpha"].follow_ups == ("beta",)


def test_shipped_knowledge_is_valid(kb: KnowledgeBase) -> None:
    assert len(kb.intents) >= 40
    assert kb.comparison is not None


def test_shipped_files_pass_the_json_schema_editors_use() -> None:
    schema = json.loads((KNOWLEDGE / "schema.json").read_text())
    for path in sorted(KNOWLEDGE.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


@pytest.mark.skipif(not CATALOG.exists(), reason="the shared intent catalog is not beside this checkout")
def test_every_catalog_intent_and_role_exists_with_its_category(kb: KnowledgeBase) -> None:
    catalog = yaml.safe_load(CATALOG.read_text())
    for item in catalog["intents"]:
        assert item["id"] in kb.intents, f"catalog intent {item['id']} is missing from knowledge/"
        assert kb.intents[item["id"]].category == item["category"]
        assert kb.intents[item["id"]].source == item["source"]
    for role in catalog["roles"]:
        assert role["id"] in kb.roles, f"catalog role {role['id']} is missing from knowledge/"


def test_every_intent_has_many_varied_phrasings_and_follow_ups(kb: KnowledgeBase) -> None:
    for intent in kb.intents.values():
        assert len(intent.phrasings) >= 12, intent.id
        assert 2 <= len(intent.follow_ups) <= 3, intent.id


def test_every_topic_intent_is_offered_as_a_follow_up_somewhere(kb: KnowledgeBase) -> None:
    offered = {f for intent in kb.intents.values() for f in intent.follow_ups}
    never = {i.id for i in kb.intents.values() if i.category != "meta"} - offered
    assert not never, f"no answer offers these as a follow-up: {sorted(never)}"


def test_no_paragraph_is_glued_to_the_list_above_it(kb: KnowledgeBase) -> None:
    """Discord renders a line straight after a bullet as part of that bullet: a blank line must separate them."""
    for intent in kb.intents.values():
        lines = intent.answer.splitlines()
        for above, line in zip(lines, lines[1:]):
            glued = above.lstrip().startswith(("- ", "* ")) and line.strip() and not line.lstrip().startswith(("- ", "* "))
            assert not glued, f"{intent.id}: {line.strip()[:60]!r} follows a bullet with no blank line"


def test_yaml_syntax_error_names_file_and_line() -> None:
    broken = GOOD.replace("title: What is beta?", "title: [What is beta?")
    found = problems_of(broken, "broken.yaml")
    assert len(found) == 1
    assert found[0].startswith("broken.yaml:")
    assert "YAML syntax error" in found[0]
    line = int(found[0].split(":")[1])
    assert 14 <= line <= 19  # where the unclosed bracket is noticed


def test_unknown_field_points_at_its_own_line() -> None:
    broken = GOOD.replace("    source: general\n  - id: beta", "    source: general\n    sauce: tomato\n  - id: beta")
    assert problems_of(broken) == ["kb.yaml:13: unknown field 'sauce'; expected one of: answer, category, "
                                   "follow_ups, id, keywords, phrasings, source, title"]


def test_missing_field_wrong_type_and_empty_text_are_each_reported() -> None:
    broken = (
        GOOD.replace("    answer: Alpha is the first letter.\n", "")
        .replace("follow_ups: [alpha]", "follow_ups: alpha")
        .replace("title: What is beta?", 'title: "   "')
    )
    found = problems_of(broken)
    assert "kb.yaml:6: intents.0: missing required field 'answer'" in found
    assert "kb.yaml:17: intents.1.follow_ups: must be array, got str" in found
    assert "kb.yaml:14: intents.1.title: must not be empty" in found


def test_duplicate_ids_across_files_name_both_places() -> None:
    other = "intents:\n" + GOOD.split("intents:\n")[1].split("  - id: beta")[0]
    other = other.replace("[what is alpha, explain alpha, alpha meaning]", "[alpha please, tell me alpha, alpha means]")
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge([("a.yaml", GOOD), ("b.yaml", other)])
    assert [str(p) for p in caught.value.problems] == ["b.yaml:2: duplicate intent id 'alpha' (also at a.yaml:6)"]


def test_same_phrasing_under_two_intents_is_refused() -> None:
    broken = GOOD.replace("explain beta", "Explain alpha!")
    assert problems_of(broken) == [
        "kb.yaml:16: phrasing 'Explain alpha!' is also under intent 'alpha' (kb.yaml:9); keep it under one intent"
    ]


def test_references_to_missing_intents_roles_and_categories() -> None:
    broken = GOOD.replace("follow_ups: [beta]", "follow_ups: [gamma]").replace("category: basics\n    title: What is beta?",
                                                                           "category: nope\n    title: What is beta?")
    broken += textwrap.dedent(
        """\
        roles:
          - id: lead
            name: Lead
            summary: Leads.
            focus: Leading.
            owns: [direction]
            answers: Where to?
            skills: [talking]
            success: People follow.
            relates_to:
              - role: ghost
                how: haunts
        """
    )
    found = problems_of(broken)
    assert "kb.yaml:11: follow-up 'gamma' is not an intent id" in found
    assert "kb.yaml:14: unknown category 'nope' (known: basics)" in found
    assert "kb.yaml:30: role 'ghost' does not exist" in found


def test_cues_for_a_meaning_no_ambiguous_word_has_are_reported() -> None:
    """A typo in a meaning would otherwise leave its cues silently unused."""
    broken = GOOD + "ambiguous:\n  pm: [product manager, project manager]\ncues:\n  prodcut manager: [roadmap]\n"
    assert problems_of(broken) == [
        "kb.yaml:23: 'prodcut manager' has cues but is no meaning of an ambiguous word (meanings: product manager, project manager)"
    ]


def test_a_meaning_read_only_when_cued_without_cues_is_reported() -> None:
    """It could never be read at all, which is surely not what the editor meant."""
    broken = GOOD + "ambiguous:\n  pm: [product manager, program manager]\nonly_when_cued: [program manager]\n"
    assert problems_of(broken) == [
        "kb.yaml:22: 'program manager' is read only when cued, but has no cues: list some under `cues`"
    ]


def test_text_over_discord_limits_is_refused() -> None:
    too_long_answer = GOOD.replace("answer: Beta is the second letter.", "answer: " + "x" * 4100)
    assert problems_of(too_long_answer) == ["kb.yaml:17: intents.1.answer: 4100 characters, over the limit of 4096"]
    too_long_title = GOOD.replace("title: What is alpha?", "title: " + "Why " * 30)
    assert problems_of(too_long_title) == [
        "kb.yaml:8: title is 119 characters; suggestion buttons show at most 80"
    ]


def test_duplicate_yaml_key_is_not_silently_dropped() -> None:
    broken = GOOD.replace("    title: What is alpha?\n", "    title: What is alpha?\n    title: Alpha?\n")
    assert "kb.yaml:9: duplicate key 'title' (the earlier one would be lost)" in problems_of(broken)


def test_all_problems_come_at_once_from_several_files() -> None:
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge([("a.yaml", "intents: [\n"), ("b.yaml", "colours: red\n")])
    names = {p.file for p in caught.value.problems}
    assert names == {"a.yaml", "b.yaml"}


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no such file or folder"):
        load_knowledge(tmp_path / "nowhere")
    with pytest.raises(KnowledgeError, match="no .yaml files"):
        load_knowledge(tmp_path)


def test_override_validates_an_upload_together_with_the_rest(knowledge_copy: Path) -> None:
    on_disk = (knowledge_copy / "meta.yaml").read_text()
    uploaded = on_disk.replace("follow_ups:", "follow_ups: [no-such-intent]\n    old_follow_ups:", 1)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_copy, overrides={"meta.yaml": uploaded})
    assert all(p.file.endswith("meta.yaml") for p in caught.value.problems)
    assert (knowledge_copy / "meta.yaml").read_text() == on_disk


def test_diff_names_added_removed_and_changed_intents() -> None:
    old = parse_knowledge([("kb.yaml", GOOD)])
    new_text = GOOD.replace("Alpha is the first letter.", "Alpha comes first.").replace(
        "follow_ups: [alpha]", "follow_ups: []"
    )
    new_text = new_text.replace("  - id: beta", "  - id: gamma").replace("follow_ups: [beta]", "follow_ups: [gamma]")
    new = parse_knowledge([("kb.yaml", new_text)])
    diff = KnowledgeDiff.between(old, new)
    assert (diff.added, diff.removed, diff.changed) == (("gamma",), ("beta",), ("alpha",))
    assert "1 added: gamma" in diff.summary()
    assert KnowledgeDiff.between(old, old).summary() == "No intents changed."
