"""Questions inside long messages: the bot answers what was asked, never the preamble."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching import Matcher
from bot.matching.question_finder import asks, find_questions

STORY = (
    "I have been working as a backend developer for about six years now, mostly on payment systems "
    "and a couple of internal tools, and lately my team lead keeps hinting that I should think about "
    "where I want to go next, because the company is growing fast and restructuring. We had a long "
    "offsite last week with lots of talk about strategy, budgets and hiring plans for next year. "
)


def test_the_question_after_a_lead_in_colon_is_what_is_read() -> None:
    message = (
        "But here's the million-dollar question that stumps even seasoned professionals: "
        "What does a product manager actually do all day?"
    )
    assert find_questions(message)[0] == "What does a product manager actually do all day?"


def test_a_short_question_keeps_the_sentence_it_leans_on() -> None:
    message = STORY + "My manager called the thing that happened to our last release scope creep. What is that?"
    assert "scope creep. What is that?" in find_questions(message)[0]


def test_a_question_about_them_keeps_the_sentence_that_names_them() -> None:
    message = STORY + "Our new hire keeps mixing up a roadmap and a release plan.\nHow do they differ, and who writes each of them?"
    first = find_questions(message)[0]
    assert "roadmap" in first and first.endswith("who writes each of them?"), first
    assert first in message, "offered as written, so the model can read it within the message"


def test_a_quoted_question_is_read_without_the_sentence_around_it() -> None:
    message = STORY + "Reading job adverts always makes me ask myself, \u201cWhy would a project manager need years in one industry?\u201d"
    assert find_questions(message)[0] == "Why would a project manager need years in one industry?"


def test_a_quoted_term_is_not_taken_for_a_question() -> None:
    question = 'People keep saying "product owner" and "product manager" as if they were one job, are they?'
    assert find_questions(STORY + question)[0].endswith(question)


def test_dots_in_abbreviations_do_not_cut_a_question_in_two() -> None:
    message = STORY + "Which role, e.g. a product owner vs. a project manager, suits someone who loves plans?"
    assert find_questions(message)[0] == "Which role, e.g. a product owner vs. a project manager, suits someone who loves plans?"


def test_a_short_message_is_its_own_question() -> None:
    assert find_questions("PdM vs PjM?") == ["PdM vs PjM?"]


def test_a_question_after_a_long_preamble_is_answered(matcher: Matcher) -> None:
    message = STORY * 2 + "So here is what I keep wondering: what does a product manager actually do all day?"
    assert len(message) > 600, "past the 600 characters that used to be the end of reading"
    result = matcher.match(message)
    assert (result.kind, result.intent_id) == ("answer", "product-manager-responsibilities")


def test_a_question_after_a_dash_is_answered(matcher: Matcher) -> None:
    message = STORY + "Anyway - how do I become a project manager without a certification?"
    result = matcher.match(message)
    assert result.kind == "answer" and result.intent_id in ("become-project-manager", "project-management-certification")


def test_a_preamble_about_our_topics_does_not_answer_an_off_topic_question(matcher: Matcher) -> None:
    preamble = (
        "I'm a project manager and I spend my days on schedules, budgets, risks and status reports for "
        "stakeholders, while our product manager owns the roadmap and the backlog. "
    )
    result = matcher.match(preamble + "Anyway, does anyone know a good pizza place near the office in Berlin?")
    assert result.kind != "answer"


def test_of_several_questions_the_one_about_our_topics_is_found(matcher: Matcher) -> None:
    message = (
        "Ever had one of those weeks where nothing goes right? Mine started with a flat tyre on Monday and "
        "went downhill from there, with two outages and a cancelled demo. Anyway, unrelated: "
        "what is the difference between a product manager and a project manager?"
    )
    result = matcher.match(message)
    assert result.kind == "answer" and result.intent_id == "key-differences"


def test_the_part_is_chosen_by_meaning_too(matcher: Matcher) -> None:
    """By words alone the question part ("what frameworks…") pointed at tools; read with its meaning, at prioritising."""
    message = (
        "In interviews for product roles they keep asking me to prioritise a list of features on the spot "
        "and I freeze every time. What frameworks do people use for that?"
    )
    result = matcher.match(message)
    assert "prioritization-frameworks" in (result.intent_id, *result.suggestions)
    assert result.kind != "answer" or result.intent_id == "prioritization-frameworks"


def test_an_indirect_question_is_read_with_its_context(matcher: Matcher) -> None:
    """ "Who is in charge…" alone says nothing of budgets and deadlines; the message around it does."""
    message = (
        "Our sponsor signed off the charter, the plan has a budget and a deadline, and the team is assembled "
        "for the data-centre migration. Who is in charge of making sure it lands on time?"
    )
    result = matcher.match(message)
    assert "budget-and-schedule-owner" in (result.intent_id, *result.suggestions)


def test_a_question_without_its_mark_still_asks() -> None:
    assert asks("thanks, and how do I book the meeting room")
    assert asks("cheers. Could you link the docs")
    assert not asks("Will do, thanks all"), "an auxiliary before no subject asks nothing"
    assert not asks("can't wait to try it, thank you")


def test_a_request_asks_too() -> None:
    assert asks("selling two concert tickets for saturday, kindly dm me. Thanks!")
    assert asks("any garage recommendations would be appreciated. Thank you")
    assert asks("Need a lift on Sunday, I’ll really appreciate it")
    assert not asks("Ran the migration again and it worked, really appreciate it. Thanks!")
    assert not asks("thanks for looking for it"), "help given, not asked for"


@pytest.fixture
def model_runs(matcher: Matcher, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the matcher gives a model run of their own (beyond the one every message gets), as they happen."""
    runs: list[str] = []
    embed = matcher.embedder.embed

    def counted(text: str) -> np.ndarray:
        runs.append(text)
        return embed(text)

    monkeypatch.setattr(matcher.embedder, "embed", counted)
    return runs


def test_an_early_question_that_does_not_lead_costs_no_model_run_of_its_own(matcher: Matcher,
                                                                           model_runs: list[str]) -> None:
    """The model keeps a long message's end; a question before it that its words rank low is not run again."""
    message = "Ever had one of those weeks? " + STORY + "So here is what I keep wondering: what does a product manager do all day?"
    result = matcher.match(message)
    assert not model_runs, f"a second model run, for {model_runs}"
    assert (result.kind, result.intent_id) == ("answer", "product-manager-responsibilities")


def test_an_early_question_that_leads_is_read_by_its_meaning_too(matcher: Matcher) -> None:
    """By its words alone this question got the product certificates; read by the model, both are offered."""
    message = (
        "Does the PMP actually matter or is it just a piece of paper? Half of my colleagues swear by it and list it "
        "first on their profiles, the other half say they have never been asked about it in an interview, and the "
        "exam fee plus the course would eat most of my training budget for the year."
    )
    result = matcher.match(message)
    assert result.intent_id != "product-management-certification"
    assert "project-management-certification" in (result.intent_id, *result.suggestions)


def test_a_message_asking_many_questions_early_costs_at_most_one_model_run_more(matcher: Matcher,
                                                                               model_runs: list[str]) -> None:
    """Only the early question its words put first is read by the model too; the rest are not chosen."""
    message = (
        "Does the PMP actually matter or is it just a piece of paper? Is it a step up or a step down to go from "
        "project manager to product manager? What does a PMO do? " + STORY
    )
    result = matcher.match(message)
    assert len(model_runs) <= 1, f"model runs of their own for {model_runs}"
    assert result.kind != "answer" or result.intent_id == "pmo"
