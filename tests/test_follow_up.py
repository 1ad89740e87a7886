"""A follow-up to an answer that only names another role asks that answer's question of the other role."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.matching import Matcher, MatchResult
from bot.matching.follow_up import named_role, read_after

SALARY, PROJECT_SALARY = "product-manager-salary", "project-manager-salary"


def match_follow_up(matcher: Matcher, question: str, follows: str) -> MatchResult:
    return read_after(matcher, matcher.match(question), follows)


def test_a_bare_role_after_an_answer_asks_its_counterpart(matcher: Matcher) -> None:
    alone = matcher.match("what about project managers?")
    assert alone.kind != "answer", "read alone, the role says nothing of what is asked"
    result = match_follow_up(matcher, "what about project managers?", SALARY)
    assert (result.kind, result.intent_id) == ("answer", PROJECT_SALARY)
    assert result.question == "what about project managers?"
    assert SALARY in result.reason and result.follows == SALARY, "why, the logs and the gaps say what it followed"
    back = match_follow_up(matcher, "and for product managers?", PROJECT_SALARY)
    assert (back.kind, back.intent_id) == ("answer", SALARY)


def read_alone(matcher: Matcher, question: str, follows: str) -> MatchResult:
    """The question's own match, saying what it was asked after (the gaps list shows it)."""
    return replace(matcher.match(question), follows=follows)


def test_a_follow_up_that_asks_something_of_its_own_is_read_alone(matcher: Matcher) -> None:
    for question in ("what about project managers, do they need a degree?", "what is scope creep?", "thanks!"):
        assert match_follow_up(matcher, question, SALARY) == read_alone(matcher, question, SALARY)


def test_a_topic_without_a_counterpart_borrows_no_neighbour(matcher: Matcher) -> None:
    """Swapped to project, demand's phrasing leads to what project management is, which does not lead back."""
    for follows in ("product-management-demand", "scope-creep", "key-differences", "no-such-intent"):
        result = match_follow_up(matcher, "what about project managers?", follows)
        assert result == read_alone(matcher, "what about project managers?", follows)
        assert result.follows == follows and result.kind != "answer"


def test_naming_the_answers_own_role_again_changes_nothing(matcher: Matcher) -> None:
    question = "and product managers?"
    assert match_follow_up(matcher, question, SALARY) == read_alone(matcher, question, SALARY)


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("what about project managers?", "project"),
        ("how about the project side?", "project"),
        ("same for program managers?", "program"),
        ("is it the same for project managers?", "project"),
        ("project managers?", "project"),
        ("and PMs?", None),  # which role a bare "PM" is, is the question
        ("what is project management?", None),  # asks on its own, whatever it follows
        ("What's a Program Manager?", None),
        ("project or product managers?", None),
        ("what about project managers in the public sector?", None),
        ("and what about the project managers who work on the client side of things?", None),
    ],
)
def test_only_a_bare_role_is_a_follow_up(matcher: Matcher, question: str, role: str | None) -> None:
    assert named_role(matcher, question) == role
