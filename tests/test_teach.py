"""`pmbot teach`: a question becomes a phrasing of its intent, in that intent's file, and nothing else changes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.keeper import KnowledgeKeeper
from bot.knowledge import KnowledgeError
from bot.knowledge.files import KnowledgeFiles
from bot.knowledge.teach import TeachRefused, UnknownIntent, plan
from tests.conftest import warm_service
from tests.test_cli import pmbot

QUESTION = "when the line producer and the showrunner disagree who wins"  # a gap: the bundled knowledge falls back
INTENT, FILE = "how-they-work-together", "collaboration.yaml"


def with_comment(folder: Path) -> str:
    """The intent's file with a comment inside its phrasings, as people write them."""
    path = folder / FILE
    text = path.read_text()
    start = text.index(f"  - id: {INTENT}")
    first = text.index("      - ", text.index("phrasings:", start))
    text = text[:first] + "      # the textbook wording first\n" + text[first:]
    path.write_text(text)
    return text


def test_teach_adds_one_line_keeps_comments_and_the_bot_answers(knowledge_copy: Path) -> None:
    before = with_comment(knowledge_copy)
    asked = json.loads(pmbot("--knowledge", str(knowledge_copy), "ask", QUESTION, "--json").stdout)
    assert asked["kind"] == "fallback"  # a real gap before

    out = pmbot("--knowledge", str(knowledge_copy), "teach", QUESTION, INTENT)

    assert out.returncode == 0, out.stderr
    assert INTENT in out.stdout and FILE in out.stdout
    after = (knowledge_copy / FILE).read_text()
    old_lines, new_lines = before.splitlines(), after.splitlines()
    added = [line for line in new_lines if line not in old_lines]
    assert added == [f"      - {QUESTION}"]
    assert [line for line in new_lines if line != added[0]] == old_lines  # every comment, quote and blank line kept
    assert "# the textbook wording first" in after and after.startswith("# yaml-language-server")
    asked = json.loads(pmbot("--knowledge", str(knowledge_copy), "ask", QUESTION, "--json").stdout)
    assert asked["kind"] == "answer" and asked["intent"] == INTENT


def test_teach_backs_the_file_up_so_rollback_undoes_it(knowledge_copy: Path) -> None:
    before = (knowledge_copy / FILE).read_text()
    assert pmbot("--knowledge", str(knowledge_copy), "teach", QUESTION, INTENT).returncode == 0
    files = KnowledgeFiles(knowledge_copy)
    [backup] = files.backups(FILE)
    assert backup.path.read_text() == before
    files.rollback()
    assert (knowledge_copy / FILE).read_text() == before


def test_an_unknown_intent_is_refused_by_name_with_close_ids(knowledge_copy: Path) -> None:
    before = {p.name: p.read_bytes() for p in knowledge_copy.iterdir()}
    out = pmbot("--knowledge", str(knowledge_copy), "teach", QUESTION, "scope-crep")
    assert out.returncode == 1
    assert "no intent 'scope-crep'" in out.stderr and "scope-creep" in out.stderr
    assert {p.name: p.read_bytes() for p in knowledge_copy.iterdir()} == before


def test_a_phrasing_already_present_anywhere_is_refused(knowledge_copy: Path) -> None:
    before = {p.name: p.read_bytes() for p in knowledge_copy.iterdir()}
    out = pmbot("--knowledge", str(knowledge_copy), "teach", "What is Scope Creep??", "product-management-definition")
    assert out.returncode == 1
    assert "already a phrasing of intent 'scope-creep'" in out.stderr
    assert {p.name: p.read_bytes() for p in knowledge_copy.iterdir()} == before


def test_a_bare_role_follow_up_is_not_taught_to_one_intent(knowledge_copy: Path) -> None:
    """Taught to project-manager-responsibilities, "what about project managers?" would be answered so after a
    salary answer too: what it asks depends on the answer it follows."""
    before = {p.name: p.read_bytes() for p in knowledge_copy.iterdir()}
    question, intent = "what about project managers?", "project-manager-responsibilities"
    out = pmbot("--knowledge", str(knowledge_copy), "teach", question, intent)
    assert out.returncode == 1
    assert "only names a role" in out.stderr and "Teach a question that says what it asks" in out.stderr
    assert {p.name: p.read_bytes() for p in knowledge_copy.iterdir()} == before
    plan(knowledge_copy, "what do project managers do all day?", "project-manager-responsibilities")  # says what it asks


def test_an_edit_that_would_not_validate_leaves_the_file_untouched(knowledge_copy: Path) -> None:
    before = {p.name: p.read_bytes() for p in knowledge_copy.iterdir()}
    too_long = "what is scope creep " * 20  # over the schema's 300 characters for a phrasing
    out = pmbot("--knowledge", str(knowledge_copy), "teach", too_long, "scope-creep")
    assert out.returncode == 1
    assert "practice.yaml:" in out.stderr and "over the limit of 300" in out.stderr
    assert {p.name: p.read_bytes() for p in knowledge_copy.iterdir()} == before  # no file, no backup


def test_broken_knowledge_is_refused_before_teaching(knowledge_copy: Path) -> None:
    (knowledge_copy / "basics.yaml").write_text("intents: [unclosed\n")
    with pytest.raises(KnowledgeError):
        plan(knowledge_copy, QUESTION, "scope-creep")
    assert "unclosed" in (knowledge_copy / "basics.yaml").read_text()


@pytest.mark.parametrize(("question", "intent", "refusal"), [
    ("   ", "scope-creep", TeachRefused),
    (QUESTION, "nothing-like-this", UnknownIntent),
])
def test_refusals_name_the_reason(knowledge_copy: Path, question: str, intent: str, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        plan(knowledge_copy, question, intent)


def test_the_keeper_serves_a_teach_at_once(knowledge_copy: Path) -> None:
    service = warm_service(knowledge_copy)
    announced: list[str] = []  # what the other bot processes are told (bot.fleet)

    async def on_change(kb: Any) -> None:
        announced.append(kb.version)

    keeper = KnowledgeKeeper(service, keep=5, max_bytes=256_000, on_change=on_change)
    assert service.ask(QUESTION).result.kind == "fallback"

    lesson, backup, diff = asyncio.run(keeper.teach(QUESTION, INTENT))

    assert (lesson.file, diff.changed, backup.existed) == (FILE, (INTENT,), True)
    assert service.ask(QUESTION).result.intent_id == INTENT
    assert announced == [service.kb.version], "a teach reaches every process, like an upload"
    with pytest.raises(TeachRefused, match="already a phrasing"):
        asyncio.run(keeper.teach(QUESTION.upper(), "scope-creep"))


def test_a_taught_question_is_answered_where_the_rules_would_only_offer_it(knowledge_copy: Path) -> None:
    """The teach reply says pmbot answers the question now: "can-manager" is no role pmbot knows, and a message of stop
    words shares no telling word with any answer, yet the knowledge now says what each asks."""
    service = warm_service(knowledge_copy)
    keeper = KnowledgeKeeper(service, keep=5, max_bytes=256_000)
    for question, intent in (("can managers attend the daily standup?", "agile-ceremonies"),
                             ("what are you even for", "bot-help")):
        before = service.ask(question).result
        assert (before.kind, before.intent_id) != ("answer", intent), "the rules doubt it before"
        asyncio.run(keeper.teach(question, intent))
        after = service.ask(question).result
        assert (after.kind, after.intent_id) == ("answer", intent), after.reason
    assert service.ask("what are you even for, mate?").result.intent_id != "bot-help", "word for word only"


@pytest.mark.parametrize(("question", "owner", "taught_to"), [
    ("whats scope creep", "scope-creep", "mvp"),  # the loader tells it from "What is scope creep?"; pmbot does not
    ("what r u for", "bot-help", "greeting"),  # "what are you for": stop words alone, which only word for word reads
])
def test_a_question_that_reads_like_another_intents_phrasing_is_not_taught(
        knowledge_copy: Path, question: str, owner: str, taught_to: str) -> None:
    """Taught to another intent, those words would be neither intent's, and the teach reply would be wrong to say
    pmbot answers the question: refused by `/kb teach` and `pmbot teach` alike, with nothing written."""
    service = warm_service(knowledge_copy)
    keeper = KnowledgeKeeper(service, keep=5, max_bytes=256_000)
    before = {p.name: p.read_bytes() for p in knowledge_copy.iterdir()}
    refusal = f"reads the same to pmbot as .*a phrasing of '{owner}'"
    with pytest.raises(TeachRefused, match=refusal):
        asyncio.run(keeper.teach(question, taught_to))
    out = pmbot("--knowledge", str(knowledge_copy), "teach", question, taught_to)
    assert out.returncode == 1 and re.search(refusal, out.stderr), out.stderr
    assert {p.name: p.read_bytes() for p in knowledge_copy.iterdir()} == before
    assert service.ask(question).result.intent_id == owner


def test_gaps_leave_out_a_question_once_it_is_taught(knowledge_copy: Path, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from bot import reports
    from bot.store import EVERYWHERE, SqliteStore, UnansweredQuestion

    service = warm_service(knowledge_copy)
    keeper = KnowledgeKeeper(service, keep=5, max_bytes=256_000)
    recorded = service.ask(QUESTION).result.normalised

    async def gaps() -> list[str]:
        async with SqliteStore(tmp_path / "db.sqlite3") as store:
            if not await store.unanswered(reports.since(1), EVERYWHERE):
                for text in (recorded, recorded, "how do i calibrate the zorblax frobnicator"):
                    await store.record_unanswered(UnansweredQuestion(datetime.now(timezone.utc), 1, 2, text, "fallback", None, 0))
            return [g.example for g in await reports.gaps(store, 1, 10, EVERYWHERE, service.matcher)]

    assert asyncio.run(gaps())[0] == recorded
    asyncio.run(keeper.teach(recorded, INTENT))
    assert asyncio.run(gaps()) == ["how do i calibrate the zorblax frobnicator"]


def test_gaps_offer_a_picker_each_five_to_a_message_then_one_to_dismiss_them(matcher) -> None:
    from bot.discord.cogs.moderation import rows_of
    from bot.discord.dismissing import DismissPicker
    from bot.discord.teaching import TeachPicker, question_key
    from bot.reports import GapReport

    questions = [f"how do the gaffer and the line producer split the shoot on day {n}" for n in range(7)]
    unteachable = [GapReport(q, 3, (q,), None, "mvp") for q in ("zorblax", "what about project managers?")]
    gaps = [GapReport(q, 1, (q,), None) for q in questions] + unteachable
    views = rows_of([*(TeachPicker.for_gap(matcher, n, gap) for n, gap in enumerate(gaps, 1)), DismissPicker.for_gaps(gaps)])
    assert [len(v.children) for v in views] == [5, 3], "nothing close to 'zorblax', and a bare role is never taught"
    picker = views[1].children[1].item
    assert "#7 “how do the gaffer" in picker.placeholder
    assert len(picker.custom_id) <= 100 and 1 <= len(picker.options) <= 25
    assert "how-they-work-together" in [o.value for o in picker.options]
    dismiss = views[1].children[2].item
    assert [o.value for o in dismiss.options] == [question_key(g.example) for g in gaps], "every gap may be dismissed"
    assert dismiss.options[7].label == "#8 “zorblax”" and dismiss.options[7].description == "asked 3×"
    assert dismiss.max_values == len(gaps)
    assert DismissPicker.for_gaps([]) is None and rows_of([None]) == []


def test_a_downvoted_gaps_picker_leaves_out_the_answer_it_was_given(matcher) -> None:
    from bot.discord.teaching import TeachPicker
    from bot.reports import GapReport

    asked = "who writes the user stories, the product manager or the project manager?"
    answered = matcher.match(asked).intent_id
    assert answered is not None
    plain = TeachPicker.for_gap(matcher, 1, GapReport(asked, 1, (asked,), answered))
    assert plain is not None and plain.item.options[0].value == answered, "the closest intent comes first"
    picker = TeachPicker.for_gap(matcher, 1, GapReport(asked, 1, (asked,), answered, downvoted=answered))
    assert picker is not None and picker.item.options
    assert answered not in [o.value for o in picker.item.options], "a 👎 said it was the wrong answer"


def test_a_question_yaml_would_misread_is_written_quoted(knowledge_copy: Path) -> None:
    question = "gaffer vs line producer: who's the boss? #filmset - really"
    lesson = plan(knowledge_copy, question, INTENT)
    assert question in lesson.kb.intents[INTENT].phrasings  # read back exactly as asked, not cut at ': ' or '#'


def test_served_knowledge_stands_for_the_files_only_while_they_are_unchanged(knowledge_copy: Path) -> None:
    served = warm_service(knowledge_copy).kb
    assert plan(knowledge_copy, QUESTION, INTENT, served).intent_id == INTENT
    (knowledge_copy / "basics.yaml").write_text("intents: [unclosed\n")  # edited on disk since it was served
    with pytest.raises(KnowledgeError):
        plan(knowledge_copy, QUESTION, INTENT, served)
