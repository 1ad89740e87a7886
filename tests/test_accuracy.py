"""Regression guard for matching quality on question sets written independently of the knowledge.

The floors sit a little under today's measurements (see `make eval`), so a change to the matcher
or the knowledge that makes people's questions go unanswered, or answered wrongly, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.evaluation import LabelledQuestion, evaluate, length_band, load_questions
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from tests.conftest import ROOT, SHARED

EVAL = ROOT / "bench" / "eval"
# Each question is embedded (~15 ms on an idle core): the larger sets take a minute or more on a busy machine.
pytestmark = pytest.mark.timeout(900)


def test_tuning_set(matcher: Matcher) -> None:
    report = evaluate(load_questions(EVAL / "tuning.yaml"), matcher)
    assert report.top1 >= 0.95
    assert report.wrong_answer <= 0.02
    assert report.oos_false_answer <= 0.01


def test_held_out_questions(matcher: Matcher) -> None:
    report = evaluate(load_questions(EVAL / "heldout.yaml"), matcher)
    assert report.top1 >= 0.94
    assert report.wrong_answer <= 0.03


def test_held_out_off_topic_chat_is_left_alone(matcher: Matcher) -> None:
    report = evaluate(load_questions(EVAL / "offtopic.yaml"), matcher)
    assert report.oos_false_answer <= 0.01


@pytest.mark.parametrize(
    ("name", "floor"),
    [("fresh", 0.92), ("fresh2", 0.94), ("fresh3", 0.90), ("fresh4", 0.85), ("fresh5", 0.93), ("fresh6", 0.87)],
)
def test_blind_questions_written_from_the_catalog_only(matcher: Matcher, name: str, floor: float) -> None:
    """fresh3, fresh4 (a third) and fresh6 (three fifths) are indirect wording, situations rather than the topic's words.

    Floors a little under the numbers measured on 2 December 2026 (README): fresh5 0.943, fresh6 0.877 (1.3 % wrong).
    """
    report = evaluate(load_questions(EVAL / f"{name}.yaml"), matcher)
    assert report.top1 >= floor
    assert report.wrong_answer <= 0.025


@pytest.mark.parametrize("name", ["offtopic-fresh", *(f"offtopic-fresh{n}" for n in range(2, 6))])
def test_blind_off_topic_chat_is_left_alone(matcher: Matcher, name: str) -> None:
    """offtopic-fresh's greetings, thank-yous and "/help" expect the social intents (relabelled 6 December 2026,
    as real-dev.yaml labels them): measured then, 14 of those 17 right and 3 of its 1,210 chat lines answered.
    """
    report = evaluate(load_questions(EVAL / f"{name}.yaml"), matcher)
    assert report.oos_false_answer <= 0.01
    assert report.wrong_answer == 0
    assert report.top1 >= 0.75 or not report.in_scope


def test_real_assistant_queries_are_left_alone(matcher: Matcher) -> None:
    """CLINC150's validation split: 2,938 real queries to an assistant (banking, travel, small talk, device
    commands) that are none of pmbot's business, beside 62 greetings, thanks and "what can I ask you" it answers.

    Measured on 5 December 2026: 3 of the 2,938 answered (0.10 %), the issue's goal 0.8 %; 42 of the 62 right.
    """
    report = evaluate(load_questions(EVAL / "clinc-val.yaml"), matcher)
    assert report.oos_false_answer <= 0.004
    assert report.top1 >= 0.6
    assert report.wrong_answer == 0


@pytest.mark.skipif(not (SHARED / "eval" / "dev.yaml").exists(), reason="the shared dev set is not beside this checkout")
def test_shared_dev_set(matcher: Matcher) -> None:
    report = evaluate(load_questions(SHARED / "eval" / "dev.yaml"), matcher)
    assert report.top1 >= 0.95
    assert report.wrong_answer <= 0.02
    assert report.oos_false_answer <= 0.05


@pytest.mark.skipif(
    not (SHARED / "eval" / "dev-new-intents.yaml").exists(), reason="the shared dev set is not beside this checkout"
)
def test_shared_dev_set_of_the_sixteen_newer_intents(matcher: Matcher) -> None:
    report = evaluate(load_questions(SHARED / "eval" / "dev-new-intents.yaml"), matcher)
    assert report.top1 >= 0.92
    assert report.wrong_answer <= 0.03
    assert report.oos_false_answer <= 0.1


CATALOG = SHARED / "spec" / "intents.yaml"


@pytest.mark.skipif(not CATALOG.exists(), reason="the shared intent catalog is not beside this checkout")
def test_every_catalog_intent_answers_its_own_plain_question(matcher: Matcher) -> None:
    """The catalog's `ask` is the plainest way to put each question: it must get that intent's answer, not a "Did you mean…"."""
    catalog = yaml.safe_load(CATALOG.read_text())
    wrong: dict[str, tuple[str, str, object]] = {}
    for item in catalog["intents"]:
        result = matcher.match(item["ask"])
        if (result.kind, result.intent_id) != ("answer", item["id"]):
            wrong[item["id"]] = (item["ask"], result.kind, result.intent_id or result.suggestions)
    assert not wrong, wrong
REAL_SETS = sorted(EVAL.glob("real-*.yaml"))
# Regression guards, not the goals (issue 9 asks for 0.80 right, 3 % wrong, 5 % chat answered; README says where
# pmbot stands). Measured on 3 December 2026 (eighth session) with the model tuned on the knowledge, 7-bit
# feed-forward weights and the rule refitted for them: real-dev 0.818 / 0.7 % / 2.3 %; real-tune 0.855 / 3.1 % / 5.2 %;
# real-heldout 0.786 / 4.2 % / 14.7 % (its off-topic half is mostly quiz questions next to the intents' topics).
# Each right floor leaves two to four questions.
REAL_RIGHT = 0.77
REAL_DEV_RIGHT = 0.80
# real-dec4-*: collected on 4 December 2026 from sources none of the others used, more of them quiz files, chat
# and issue threads. Measured that day: tune 0.734 / 0 % / 6.6 %, heldout 0.744 / 2.6 % / 13.2 % (two and three
# questions over the floor).
REAL_DEC4_RIGHT = 0.70
# real-dec5-*: FAQ pages and forum threads collected on 5 December 2026, kept where two labellers agreed; strict
# about near-domain questions (a certificate the catalog names but does not explain is off topic). Measured that
# day: tune 0.855 / 2.9 % / 29.4 %, heldout 0.691 / 2.9 % / 27.3 % (three questions, two lines from the floors).
REAL_DEC5_RIGHT = 0.65
REAL_DEC5_ANSWERED = 0.33
# real-dec6-*: forum threads, FAQ pages and chat lines collected on 6 December 2026 from sources no earlier set
# used, kept where two labellers agreed. Measured that day, before anything was tuned with them: tune 0.634 /
# 2.8 % / 6.2 %, heldout 0.714 / 4.3 % / 5.0 % (the tuning half three questions from its floor; two and four
# chat lines from the ceiling).
REAL_DEC6_RIGHT = 0.59
REAL_DEC6_ANSWERED = 0.09
# real-dec7-*: messages of over 30 words only, from sources no earlier set used, kept where two labellers agreed.
# Measured 6 December 2026, before anything was tuned with them: tune 9 of 16 right, 1 wrong, 3 of 37 chat lines
# answered; heldout 7 of 14, 0 wrong, 5 of 46. So few questions make coarse bars: each leaves one to three.
REAL_DEC7_RIGHT = 0.35
REAL_DEC7_WRONG = 0.13
# real-social-*: greetings, thanks and questions about a bot, from public chat logs and bots' issue trackers.
# Measured 3 December 2026 (eighth session): tune 0.833 / 0 % / 5.5 %, heldout 0.765 / 0 % / 4.2 %.
REAL_SOCIAL_RIGHT = 0.74
# real-chat-*: contiguous stretches of real chat logs, mostly nothing to do with pmbot; only greetings and thanks
# are in scope. Measured 5 December 2026: tune 0.740 / 1.4 % / 0.33 %, heldout 0.683 / 0 % / 0.58 % (of 606 and
# 693 chat lines, two and four answered).
REAL_CHAT_RIGHT = 0.62
REAL_CHAT_ANSWERED = 0.012
# Messages over 30 words, pooled over every real set: forum posts that tell a story before they ask, pmbot's
# weakest part, which each set's own bars hide when few of its messages are long. Measured 6 December 2026,
# with the model reading 80 tokens and real-dec7-* among the sets: 159 in scope, 93 right and 12 wrong (58.5 %,
# 7.5 %); 279 chat lines, 18 answered (6.5 %). At 48 tokens, 84 right. Each bar leaves three messages.
LONG_RIGHT = 0.56
LONG_WRONG = 0.10
LONG_ANSWERED = 0.078


def known(questions: list[LabelledQuestion], kb: KnowledgeBase) -> list[LabelledQuestion]:
    """The questions this knowledge can answer or must refuse: real sets run ahead of the knowledge
    (they expect intents still being written), and those questions count once their intent exists."""
    return [q for q in questions if q.expect is None or q.expect in kb.intents]


@pytest.mark.skipif(not (SHARED / "eval" / "real-dev.yaml").exists(), reason="the shared real set is not beside this checkout")
def test_shared_real_questions(matcher: Matcher) -> None:
    """Real messages copied from public forums: longer, indirect, mixed with chat."""
    report = evaluate(known(load_questions(SHARED / "eval" / "real-dev.yaml"), matcher.kb), matcher)
    assert report.top1 >= REAL_DEV_RIGHT
    assert report.wrong_answer <= 0.025
    assert report.oos_false_answer <= 0.06


@pytest.mark.parametrize("path", REAL_SETS, ids=[p.stem for p in REAL_SETS])
def test_real_question_sets(matcher: Matcher, path: Path) -> None:
    """bench/eval/real-*.yaml: real questions and chat collected for issue 9 (tuning and held-out halves)."""
    report = evaluate(known(load_questions(path), matcher.kb), matcher)
    family = path.stem.rsplit("-", 1)[0]  # real-dec5-tune and real-dec5-heldout share their bars
    if report.in_scope:
        floors = {"real-social": REAL_SOCIAL_RIGHT, "real-dec4": REAL_DEC4_RIGHT, "real-dec5": REAL_DEC5_RIGHT,
                  "real-dec6": REAL_DEC6_RIGHT, "real-dec7": REAL_DEC7_RIGHT, "real-chat": REAL_CHAT_RIGHT}
        assert report.top1 >= floors.get(family, REAL_RIGHT)
        wrong_ceilings = {"real-dec7": REAL_DEC7_WRONG}
        assert report.wrong_answer <= wrong_ceilings.get(family, 0.06)
    if report.oos:
        ceilings = {"real-chat": REAL_CHAT_ANSWERED, "real-dec5": REAL_DEC5_ANSWERED, "real-dec6": REAL_DEC6_ANSWERED}
        assert report.oos_false_answer <= ceilings.get(family, 0.165)


def test_long_real_messages(matcher: Matcher) -> None:
    """The real sets' messages of over 30 words, pooled: too few in any one set to have bars of their own."""
    questions = [q for path in REAL_SETS for q in known(load_questions(path), matcher.kb) if length_band(q.q) == "31+"]
    report = evaluate({q.q: q for q in questions}.values(), matcher)  # real-offtopic-* repeat chat lines of real-*
    assert report.top1 >= LONG_RIGHT
    assert report.wrong_answer <= LONG_WRONG
    assert report.oos_false_answer <= LONG_ANSWERED
