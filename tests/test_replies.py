"""Replies: each kind says the right thing and never exceeds what Discord accepts."""

from __future__ import annotations

from bot import limits
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher, MatchResult
from bot.replies import (
    Field,
    Option,
    Reply,
    build_reply,
    comparison_reply,
    help_reply,
    role_lookup,
    role_reply,
    topics_reply,
    with_server_notes,
)
from bot.store import ANSWER_NOTE_LIMIT


def embed_size(reply: Reply) -> int:
    return len(reply.title) + len(reply.body) + len(reply.footer) + sum(len(f.name) + len(f.value) for f in reply.fields)


def test_answer_carries_title_body_colour_and_follow_ups(kb: KnowledgeBase, matcher: Matcher) -> None:
    reply = build_reply(kb, matcher.match("what is an mvp?"))
    intent = kb.intents["mvp"]
    assert (reply.kind, reply.intent_id, reply.title, reply.body) == ("answer", "mvp", intent.title, intent.answer)
    assert reply.colour == kb.categories[intent.category].colour
    assert [o.intent_id for o in reply.options] == list(intent.follow_ups)
    assert all(o.label == kb.intents[o.intent_id].title for o in reply.options)


def test_an_answer_offers_what_else_was_asked_before_its_follow_ups(kb: KnowledgeBase) -> None:
    follow_ups = list(kb.intents["mvp"].follow_ups)
    other = next(i for i in kb.intents if i != "mvp" and i not in follow_ups)
    reply = build_reply(kb, MatchResult("answer", "q", "q", intent_id="mvp", also=(other, follow_ups[0])))
    assert [o.intent_id for o in reply.options] == [other, *follow_ups], "first, and each intent once"


def test_suggest_never_presents_an_answer(kb: KnowledgeBase, matcher: Matcher) -> None:
    reply = build_reply(kb, matcher.match("what does a PM do"))
    assert reply.kind == "suggest"
    assert reply.intent_id is None
    assert "PM" in reply.body and "product manager" in reply.body
    assert 2 <= len(reply.options) <= 3


def test_suggest_speaks_of_one_option_or_several(kb: KnowledgeBase) -> None:
    one = build_reply(kb, MatchResult("suggest", "q", "q", suggestions=("mvp",)))
    several = build_reply(kb, MatchResult("suggest", "q", "q", suggestions=("mvp", "okrs-and-kpis")))
    assert [o.intent_id for o in one.options] == ["mvp"]
    assert "which of these" not in one.body and "Pick it" in one.body
    assert len(several.options) == 2 and "which of these" in several.body


def test_fallback_offers_examples_and_topics(kb: KnowledgeBase, matcher: Matcher) -> None:
    reply = build_reply(kb, matcher.match("best pizza in naples?"))
    assert reply.kind == "fallback"
    assert len(reply.options) == 3
    assert all(o.intent_id in kb.intents for o in reply.options)
    assert "product management" in reply.body


def test_every_built_reply_fits_discord(kb: KnowledgeBase) -> None:
    replies = [help_reply(kb), comparison_reply(kb), topics_reply(kb)]
    replies += [role_reply(kb, role) for role in kb.roles.values()]
    replies += [topics_reply(kb, category) for category in kb.categories]
    for reply in replies:
        assert embed_size(reply) <= limits.EMBED_TOTAL, reply.title
        assert len(reply.fields) <= limits.EMBED_FIELDS
        assert all(len(f.value) <= limits.EMBED_FIELD_VALUE for f in reply.fields)
        assert all(len(o.label) <= limits.BUTTON_LABEL for o in reply.options)


def test_a_servers_notes_go_under_an_answer_whole_and_never_under_a_guess(kb: KnowledgeBase) -> None:
    notes = ("Templates: <#10>. " + "t" * (ANSWER_NOTE_LIMIT - 18), "n" * ANSWER_NOTE_LIMIT)  # both at the limit
    for intent in kb.intents.values():
        reply = with_server_notes(build_reply(kb, MatchResult("answer", "q", "q", intent_id=intent.id)), notes)
        assert reply.fields[-1].name == "From this server" and reply.fields[-1].value == "\n\n".join(notes), intent.id
        assert embed_size(reply) <= limits.EMBED_TOTAL and reply.body.startswith(intent.answer[:100])
    guess = build_reply(kb, MatchResult("suggest", "q", "q", suggestions=("mvp",)))
    assert with_server_notes(guess, notes) == guess, "a guess is about no one topic yet"
    answer = build_reply(kb, MatchResult("answer", "q", "q", intent_id="mvp"))
    assert with_server_notes(answer, ()) == answer


def test_role_summary_has_the_fields_people_look_for(kb: KnowledgeBase) -> None:
    reply = role_reply(kb, kb.roles["project-manager"])
    names = [f.name for f in reply.fields]
    assert names[:5] == ["Focus", "Answers", "Owns", "Skills", "Success looks like"]
    assert "Works with" in names


def test_comparison_shows_both_roles_per_dimension(kb: KnowledgeBase) -> None:
    reply = comparison_reply(kb)
    assert kb.comparison is not None
    assert len(reply.fields) == len(kb.comparison.dimensions)
    assert all("**Product manager:**" in f.value and "**Project manager:**" in f.value for f in reply.fields)


def test_oversized_reply_is_cut_to_every_limit() -> None:
    huge = Reply(
        "answer",
        title="T" * 1000,
        body="B" * 10_000,
        fields=tuple(Field("N" * 500, "V" * 2000) for _ in range(40)),
        options=tuple(Option(f"i{n}", "L" * 200) for n in range(30)),
        footer="F" * 3000,
    ).fitted()
    assert len(huge.title) == limits.EMBED_TITLE and huge.title.endswith("…")
    assert len(huge.fields) <= limits.EMBED_FIELDS
    assert all(len(f.name) <= limits.EMBED_FIELD_NAME and len(f.value) <= limits.EMBED_FIELD_VALUE for f in huge.fields)
    assert len(huge.footer) <= limits.EMBED_FOOTER
    assert embed_size(huge) <= limits.EMBED_TOTAL
    assert huge.body  # the answer itself is never dropped entirely
    assert len(huge.options) <= limits.BUTTONS_PER_ROW * (limits.ACTION_ROWS - 1)
    assert all(len(o.label) <= limits.BUTTON_LABEL for o in huge.options)


def test_role_takes_names_as_people_type_them(kb: KnowledgeBase) -> None:
    for typed in ("Scrum Master (SM)", '"scrum master"', "“Scrum master”", "'SM'", "scrum-master"):
        reply = role_lookup(kb, typed)
        assert reply is not None and reply.title == kb.roles["scrum-master"].name, typed
    tpm = role_lookup(kb, "TPM")
    assert tpm is not None and tpm.intent_id == "technical-product-manager"
    assert role_lookup(kb, "wizard") is None


def test_role_pm_says_it_is_ambiguous_and_offers_the_three(kb: KnowledgeBase) -> None:
    reply = role_lookup(kb, "pm")
    assert reply is not None and reply.kind == "suggest"
    assert "ambiguous" in reply.body
    for name in ("product manager", "project manager", "program manager"):
        assert f"/role {name}" in reply.body
    assert [o.intent_id for o in reply.options] == [
        kb.roles[r].intent for r in ("product-manager", "project-manager", "program-manager")
    ]


def test_topics_marks_only_categories_that_are_cut(kb: KnowledgeBase) -> None:
    reply = topics_reply(kb)
    for category in kb.categories.values():
        intents = kb.intents_in(category.id)
        field = next(f for f in reply.fields if f.name.startswith(category.title))
        assert field.value.endswith("…") == (len(intents) > 4), category.id
        assert intents[0].title in field.value


def test_fallback_lists_the_topics_one_per_line(kb: KnowledgeBase, matcher: Matcher) -> None:
    body = build_reply(kb, matcher.match("best pizza in naples?")).body
    for category in kb.categories.values():
        if category.id != "meta":
            assert f"\n• {category.title}\n" in body


def test_compare_on_one_aspect_or_says_what_it_takes(kb: KnowledgeBase) -> None:
    one = comparison_reply(kb, "time horizon")
    assert [f.name for f in one.fields] == ["Time horizon"]
    wrong = comparison_reply(kb, "scrum master")
    assert wrong.fields == () and "No aspect called “scrum master”" == wrong.title
    assert kb.comparison is not None
    assert all(d.name.lower() in wrong.body for d in kb.comparison.dimensions)


def test_help_lists_each_example_once_and_bot_help_agrees_on_help(kb: KnowledgeBase) -> None:
    reply = help_reply(kb)
    for option in reply.options:
        assert option.label not in reply.body, "the examples are the buttons, not also the text"
    said = next(line for line in kb.intents["bot-help"].answer.splitlines() if "**/help**" in line)
    assert "this message" not in said  # the bot-help answer is not /help's reply
    assert "example questions" in said and "example questions" in reply.body
