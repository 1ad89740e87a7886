"""Reply → embed and components, the cooldown, and the autocomplete search: pure functions, no Discord."""

from __future__ import annotations

import re
from unittest.mock import MagicMock

import discord
import pytest

from bot.config import BUNDLED_KNOWLEDGE
from bot.discord.cooldown import QuestionCooldown
from bot.discord.render import (
    CUT_SHORT, DYNAMIC_ITEMS, AskButton, TopicsSelect, VoteButton, as_text, fitted, message_kwargs, quoted_question, quoting,
    to_embed, to_view,
)
from bot.discord.search import IntentSearch, suggest_roles
from bot.replies import Field, Option, Reply, answer_reply, build_reply, help_reply, topics_reply
from bot.service import KnowledgeService
from tests.conftest import warm_service


@pytest.fixture(scope="module")
def service() -> KnowledgeService:
    return warm_service(BUNDLED_KNOWLEDGE)


def rows(view: discord.ui.View) -> list[list[dict]]:
    return [row["components"] for row in view.to_components()]


def test_embed_carries_title_body_colour_fields_footer() -> None:
    reply = Reply("info", "T", "B", 0x123456, (Field("n", "v", True),), footer="F")
    embed = to_embed(reply)
    assert (embed.title, embed.description, embed.colour.value, embed.footer.text) == ("T", "B", 0x123456, "F")
    assert [(f.name, f.value, f.inline) for f in embed.fields] == [("n", "v", True)]


def test_as_text_keeps_every_part_of_a_short_answer() -> None:
    reply = Reply("answer", "What is X?", "X is **this**.", 0x123456, (Field("From this server", "See #pins", False),),
                  footer="Ask me more")
    assert as_text(to_embed(reply)) == (
        "**What is X?**\n\nX is **this**.\n\n**From this server**\nSee #pins\n-# Ask me more")


def test_as_text_cuts_a_long_answer_to_a_message_and_says_where_it_is_whole(service: KnowledgeService) -> None:
    longest = max((answer_reply(service.kb, i) for i in service.kb.intents.values()), key=lambda r: len(r.body))
    assert len(longest.body) > 2000, "the knowledge has an answer longer than a message"
    text = as_text(to_embed(longest))
    assert len(text) <= 2000 and text.startswith(f"**{longest.title}**") and text.endswith(CUT_SHORT)
    assert "/ask" in CUT_SHORT


def test_an_answer_as_text_that_names_its_asker_still_fits_a_message(service: KnowledgeService) -> None:
    channel = MagicMock(spec=discord.TextChannel)  # pmbot may post there, but not embeds
    channel.permissions_for.return_value = discord.Permissions(view_channel=True, send_messages=True)
    longest = max((answer_reply(service.kb, i) for i in service.kb.intents.values()), key=lambda r: len(r.body))
    asker = "<@123456789012345678>"
    sent = fitted({**message_kwargs(longest), "content": asker}, channel)
    assert sent["embed"] is None and sent["content"].startswith(f"{asker}\n**{longest.title}**")
    assert len(sent["content"]) <= 2000 and sent["content"].endswith(CUT_SHORT) and sent["view"].children
    channel.permissions_for.return_value = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
    assert fitted(message_kwargs(longest), channel)["embed"].title == longest.title


@pytest.mark.parametrize("question", [
    "Is a PO a *real* PM?", "> not a quote", "# not a heading", "C:\\roadmaps\\q3 or `code`?", "@everyone <@1> PM?",
])
def test_an_ask_answer_shows_its_question_as_typed_and_reads_it_back(question: str) -> None:
    """The channel sees what /ask was asked, as it was typed (no Markdown of the member's applied to it), and after a
    restart a 👎 on the answer reads the same question back."""
    shown = quoting(question)
    assert shown.startswith("> ") and "\n" not in shown
    assert quoted_question(MagicMock(content=shown)) == question
    assert quoted_question(MagicMock(content="")) is None, "an answer that quotes nothing names no question"


def test_answer_view_has_follow_ups_then_votes(service: KnowledgeService) -> None:
    intent = service.kb.intents["product-management-definition"]
    view = to_view(answer_reply(service.kb, intent))
    assert view.timeout is None
    layout = rows(view)
    ids = [c["custom_id"] for row in layout for c in row]
    follow_ups = [f"pmbot:ask:{i}" for i in intent.follow_ups if i in service.kb.intents]
    assert ids == follow_ups + [f"pmbot:vote:up:{intent.id}", f"pmbot:vote:down:{intent.id}"]
    assert [len(r) for r in layout[:-1]] == [1] * len(follow_ups), "one follow-up per row: labels are long"
    assert all(c["label"] for row in layout[:-1] for c in row)


def test_many_options_are_packed_within_five_rows_of_five() -> None:
    options = tuple(Option(f"intent-{n}", f"Question number {n}") for n in range(30))
    for kind in ("answer", "info"):
        view = to_view(Reply(kind, "T", "B", options=options, intent_id="x" if kind == "answer" else None))
        layout = rows(view)
        assert len(layout) <= 5 and all(len(r) <= 5 for r in layout)
        ids = [c["custom_id"] for r in layout for c in r]
        assert len(ids) == len(set(ids)), "custom_ids must be unique in a message"


def test_duplicate_options_become_one_button() -> None:
    view = to_view(Reply("suggest", "T", "B", options=(Option("a", "A"), Option("a", "A again"), Option("b", "B"))))
    assert [c["custom_id"] for r in rows(view) for c in r] == ["pmbot:ask:a", "pmbot:ask:b"]


def test_custom_ids_and_labels_fit_for_the_longest_ids() -> None:
    longest = "a" * 80  # the schema's maximum intent id
    view = to_view(Reply("answer", "T", "B", options=(Option(longest, "L" * 300),), intent_id=longest))
    for row in rows(view):
        for component in row:
            assert 1 <= len(component["custom_id"]) <= 100
            assert len(component.get("label") or "") <= 80


def test_only_answers_get_votes(service: KnowledgeService) -> None:
    for reply in (build_reply(service.kb, service.ask("best pizza topping").result), help_reply(service.kb)):
        assert not any(c["custom_id"].startswith("pmbot:vote:") for r in rows(to_view(reply)) for c in r)


def test_message_kwargs_never_ping(service: KnowledgeService) -> None:
    kwargs = message_kwargs(help_reply(service.kb))
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_dynamic_items_rebuild_from_their_custom_ids(service: KnowledgeService) -> None:
    for item in (AskButton("key-differences", "Key"), VoteButton(1, "key-differences"), VoteButton(-1, "mvp"),
                 TopicsSelect.for_knowledge(service.kb)):
        assert item is not None
        match = type(item).__discord_ui_compiled_template__.fullmatch(item.custom_id)
        assert match, item.custom_id
        rebuilt = await type(item).from_custom_id(None, item.item, match)  # type: ignore[arg-type]
        assert rebuilt.custom_id == item.custom_id
    templates = [cls.__discord_ui_compiled_template__.pattern for cls in DYNAMIC_ITEMS]
    assert len(set(templates)) == len(templates)
    assert not re.fullmatch(templates[0], "pmbot:vote:up:x"), "the templates do not overlap"


def test_topics_select_has_a_category_per_option(service: KnowledgeService) -> None:
    select = TopicsSelect.for_knowledge(service.kb)
    assert select is not None
    values = [o.value for o in select.item.options]
    assert values == [c for c in service.kb.categories if service.kb.intents_in(c)]
    assert all(len(o.label) <= 100 and len(o.description or "") <= 100 for o in select.item.options)


def test_a_category_lists_its_questions_as_buttons(service: KnowledgeService) -> None:
    reply = topics_reply(service.kb, "careers")
    ids = [c["custom_id"] for r in rows(to_view(reply)) for c in r]
    assert ids == [f"pmbot:ask:{i.id}" for i in service.kb.intents_in("careers")][:20]


# -- cooldown ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_allows_the_rate_then_waits_and_notifies_once_per_burst() -> None:
    clock = Clock()
    cooldown = QuestionCooldown(3, 10.0, clock=clock)
    assert [cooldown.retry_after(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = cooldown.retry_after(1)
    assert wait == pytest.approx(10.0)
    assert cooldown.should_notify(1, wait) is True
    clock.now = 5.0
    wait = cooldown.retry_after(1)
    assert wait == pytest.approx(5.0)
    assert cooldown.should_notify(1, wait) is False, "one notice per burst"
    assert cooldown.retry_after(2) == 0.0, "per user"
    clock.now = 10.5
    assert cooldown.retry_after(1) == 0.0, "the window slid past the first questions"
    for _ in range(2):
        cooldown.retry_after(1)
    clock.now = 11.0
    wait = cooldown.retry_after(1)
    assert wait > 0 and cooldown.should_notify(1, wait) is True, "a new burst gets a new notice"


def test_cooldown_forgets_idle_users() -> None:
    clock = Clock()
    cooldown = QuestionCooldown(1, 1.0, clock=clock)
    for user in range(10_001):
        cooldown.retry_after(user)
    clock.now = 5.0
    cooldown.retry_after(999_999)
    assert len(cooldown._asked) == 1


def test_cooldown_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        QuestionCooldown(0, 1.0)


# -- search ----------------------------------------------------------------------------------


def test_intent_search(service: KnowledgeService) -> None:
    search = IntentSearch.build(service.kb)
    title = service.kb.intents["scope-creep"].title
    assert search.exact(f"  {title.upper()} ") == "scope-creep"
    assert search.exact("what is scope creep, roughly") is None
    assert search.suggest("scope creap")[0] == "scope-creep"
    assert len(search.suggest("")) == 25 and "greeting" not in search.suggest("")
    assert search.suggest("zzzzqqqq") == []


def test_role_suggestions(service: KnowledgeService) -> None:
    assert suggest_roles(service.kb, "scrum")[0].id == "scrum-master"
    assert suggest_roles(service.kb, "PO")[0].id == "product-owner"
    assert suggest_roles(service.kb, "prgram manger")[0].id == "program-manager"
    assert len(suggest_roles(service.kb, "")) == len(service.kb.roles)


def test_an_answers_question_is_kept_for_one_downvote_within_the_day() -> None:
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from bot.discord.answered_questions import VOTE_WINDOW, AnsweredQuestions
    from bot.store import UnansweredQuestion

    now = [0.0]
    kept = AnsweredQuestions(clock=lambda: now[0])
    question = UnansweredQuestion(datetime.now(timezone.utc), 1, 2, "who owns the roadmap", "downvoted", "roadmap", 90.0)
    reply = SimpleNamespace(id=10, interaction_metadata=None)
    ask_response = SimpleNamespace(id=11, interaction_metadata=SimpleNamespace(id=20))  # /ask's, known by its interaction
    kept.remember(10, question)
    kept.remember(20, question)
    assert kept.take(reply) == question and kept.take(reply) is None, "one gap an answer"
    now[0] += (VOTE_WINDOW - timedelta(seconds=1)).total_seconds()
    kept.remember(10, question)
    kept.remember(10, None)  # edited into a question pmbot no longer answers
    assert kept.take(reply) is None
    assert kept.take(ask_response) == question
    kept.remember(20, question)
    now[0] += VOTE_WINDOW.total_seconds()
    assert kept.take(ask_response) is None, "a day later it counts as a vote only"


def test_a_downvote_taken_back_lets_the_next_one_store_the_question_again() -> None:
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from bot.discord.answered_questions import AnsweredQuestions
    from bot.store import UnansweredQuestion

    kept = AnsweredQuestions()
    question = UnansweredQuestion(datetime.now(timezone.utc), 1, 2, "who owns the roadmap", "downvoted", "roadmap", 90.0)
    reply = SimpleNamespace(id=10, interaction_metadata=None)
    kept.remember(10, question)
    assert kept.stored(reply) is None, "no 👎 yet: nothing to take back"
    assert kept.take(reply) == question and kept.stored(reply) == question
    assert kept.take(reply) is None, "stored once"
    kept.give_back(reply)
    assert kept.stored(reply) is None and kept.take(reply) == question, "the next 👎 stores it again"


def test_a_person_who_asks_to_be_forgotten_leaves_no_question_for_a_later_downvote() -> None:
    from dataclasses import replace
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from bot.discord.answered_questions import AnsweredQuestions
    from bot.store import UnansweredQuestion

    kept = AnsweredQuestions()
    theirs = UnansweredQuestion(datetime.now(timezone.utc), 1, 2, "who owns the roadmap", "downvoted", "roadmap", 90.0,
                                user_id=7)
    kept.remember(10, theirs)
    kept.remember(11, replace(theirs, user_id=8))
    kept.remember(12, replace(theirs, user_id=None))  # a host that does not store who asked keeps no id
    kept.forget_person(7)
    answers = [SimpleNamespace(id=i, interaction_metadata=None) for i in (10, 11, 12)]
    assert [q.user_id if q else "gone" for q in map(kept.take, answers)] == ["gone", 8, None]
