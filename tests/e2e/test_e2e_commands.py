"""End to end: the slash commands (/ask with autocomplete, /role, /compare, /topics with its select, /help)."""

from __future__ import annotations


from e2e_support import assert_no_pings, custom_ids, db_rows, embed
from fake_discord import FakeDiscord

EPHEMERAL = 64


def flags(response) -> int:
    return int(response.payload.get("flags") or 0)


def test_ask_answers_publicly_with_buttons(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "what skills does a product manager need"
    result = service.ask(question).result
    assert result.kind == "answer"
    intent = service.kb.intents[result.intent_id]
    response = fake.send_slash_command("ask", {"question": question}, user=new_user()).wait_response()
    assert response.ok and response.response_type == 4
    assert not flags(response) & EPHEMERAL
    assert embed(response)["title"] == intent.title
    assert f"pmbot:vote:up:{intent.id}" in custom_ids(response)
    assert_no_pings(response.payload)


def test_a_downvote_on_an_ask_answer_puts_its_question_in_the_gaps_list(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "How much does a project manager make?"
    result = service.ask(question).result
    assert result.kind == "answer"
    asked = fake.send_slash_command("ask", {"question": question}, user=new_user())
    answer = fake.interaction_responses(asked.wait_response().interaction_id)[0]
    assert fake.click_button(answer, f"pmbot:vote:down:{result.intent_id}", user=new_user()).wait_response().ok
    rows = db_rows(bot.database, "SELECT kind, best_intent, message_id FROM unanswered_questions WHERE original_text = ?",
                   (question,))
    assert rows == [("downvoted", result.intent_id, None)], "the question /ask was given, which its answer does not show"


def test_ask_answers_only_the_asker_when_asked_privately(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "How much does a project manager make?"
    intent_id = service.ask(question).result.intent_id
    user = new_user()
    title = service.kb.intents[intent_id].title  # as autocomplete fills it in
    for options in ({"question": question, "private": True}, {"question": title, "private": True}):
        response = fake.send_slash_command("ask", options, user=user).wait_response()
        assert response.ok and flags(response) & EPHEMERAL, f"{options['question']!r} was shown to the channel"
        assert f"pmbot:vote:down:{intent_id}" in custom_ids(response), "an answer, with its buttons"


def test_ask_keeps_guesses_and_misses_private(fake: FakeDiscord, bot, service, new_user) -> None:
    for question, kind in [("what does a PM do", "suggest"), ("best pizza topping", "fallback")]:
        assert service.ask(question).result.kind == kind
        response = fake.send_slash_command("ask", {"question": question}, user=new_user()).wait_response()
        assert response.ok and flags(response) & EPHEMERAL, f"a {kind} is shown only to the asker"
        assert custom_ids(response), "with buttons to pick from"


def test_ask_follows_the_askers_last_answer_when_it_only_names_a_role(fake: FakeDiscord, bot, service, new_user) -> None:
    user, other = new_user(), new_user()
    question, follow_up = "How much does a product manager earn?", "what about project managers?"
    first = service.ask(question).result
    expected = service.ask(follow_up, first.intent_id).result
    assert expected.kind == "answer" and service.ask(follow_up).result.kind != "answer"
    assert fake.send_slash_command("ask", {"question": question}, user=user).wait_response().ok
    someone_elses = fake.send_slash_command("ask", {"question": follow_up}, user=other).wait_response()
    assert flags(someone_elses) & EPHEMERAL, "another member's answer is not theirs to follow"
    mine = fake.send_slash_command("ask", {"question": follow_up}, user=user).wait_response()
    assert not flags(mine) & EPHEMERAL
    assert embed(mine)["title"] == service.kb.intents[expected.intent_id].title


def test_ask_autocomplete_is_fuzzy_and_within_limits(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    choices = fake.send_autocomplete("ask", {"question": "prodct manger skils"}, "question", user=user).wait_choices()
    assert 0 < len(choices) <= 25
    assert all(0 < len(c["name"]) <= 100 and 0 < len(c["value"]) <= 100 for c in choices)
    titles = {i.title for i in service.kb.intents.values()}
    assert all(c["name"] in titles for c in choices), "choices are intent titles"
    assert "skill" in choices[0]["name"].lower()
    empty = fake.send_autocomplete("ask", {"question": ""}, "question", user=user).wait_choices()
    assert len(empty) == 25, "an empty box lists topics to start from"
    # picking a choice sends its title: answered with exactly that intent
    picked = choices[0]["value"]
    response = fake.send_slash_command("ask", {"question": picked}, user=user).wait_response()
    assert embed(response)["title"] == picked


def test_role_shows_a_summary_with_fields(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    choices = fake.send_autocomplete("role", {"name": "scrum"}, "name", user=user).wait_choices()
    assert choices and choices[0]["name"] == "Scrum master"
    for typed in ("Scrum master", "SM", "scrum-master"):
        response = fake.send_slash_command("role", {"name": typed}, user=user).wait_response()
        assert response.ok and not flags(response) & EPHEMERAL
        role_embed = embed(response)
        assert role_embed["title"] == service.kb.roles["scrum-master"].name
        assert {"Focus", "Owns", "Skills"} <= {f["name"] for f in role_embed["fields"]}


def test_an_ask_answer_quotes_its_question_and_pings_nobody_it_names(fake: FakeDiscord, bot, new_user) -> None:
    """The channel sees what was asked above the answer; a mention typed into the question shows, and pings nobody."""
    question = "@everyone what does a product manager do?"
    response = fake.send_slash_command("ask", {"question": question}, user=new_user()).wait_response()
    assert response.ok and not flags(response) & EPHEMERAL and embed(response)["title"]
    assert response.payload["content"] == f"> {question}"
    assert_no_pings(response.payload)


def test_role_unknown_lists_the_known_roles_privately(fake: FakeDiscord, bot, service, new_user) -> None:
    response = fake.send_slash_command("role", {"name": "astronaut @everyone"}, user=new_user()).wait_response()
    assert response.ok and flags(response) & EPHEMERAL
    for role in service.kb.roles.values():
        assert role.name in response.payload["content"]
    assert_no_pings(response.payload)


def test_compare_is_side_by_side(fake: FakeDiscord, bot, service, new_user) -> None:
    response = fake.send_slash_command("compare", user=new_user()).wait_response()
    comparison = service.kb.comparison
    assert comparison is not None
    compare_embed = embed(response)
    assert compare_embed["title"] == comparison.title
    assert [f["name"] for f in compare_embed["fields"]] == [d.name for d in comparison.dimensions][:25]


def test_topics_select_lists_a_category_privately_with_ask_buttons(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    handle = fake.send_slash_command("topics", user=user)
    response = handle.wait_response()
    assert embed(response)["title"] == "Topics"
    assert custom_ids(response) == ["pmbot:topics"]
    select = response.components[0]["components"][0]
    assert [o["value"] for o in select["options"]] == [c for c in service.kb.categories if service.kb.intents_in(c)]

    chosen = fake.select(handle, "pmbot:topics", ["careers"], user=new_user()).wait_response()
    assert chosen.ok and flags(chosen) & EPHEMERAL
    assert embed(chosen)["title"] == service.kb.categories["careers"].title
    careers = [i.id for i in service.kb.intents_in("careers")]
    assert custom_ids(chosen) == [f"pmbot:ask:{i}" for i in careers][:25]

    # a question button on that private list asks it
    click = fake.click_button(fake.interaction_responses(chosen.interaction_id)[0], f"pmbot:ask:{careers[0]}", user=user)
    assert embed(click.wait_response())["title"] == service.kb.intents[careers[0]].title


def test_help_is_private(fake: FakeDiscord, bot, new_user) -> None:
    response = fake.send_slash_command("help", user=new_user()).wait_response()
    assert response.ok and flags(response) & EPHEMERAL
    assert embed(response)["title"] == "How to use pmbot"


def test_ask_button_for_a_removed_topic_explains_itself(fake: FakeDiscord, bot, new_user) -> None:
    # A button from an old message can name an intent the knowledge no longer has.
    handle = fake.send_slash_command("topics", user=new_user())
    handle.wait_response()
    message = handle.message
    assert message is not None
    message["components"] = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Gone", "custom_id": "pmbot:ask:no-such-intent"}]}
    ]
    with fake._server.lock:  # edit the stored message as if it had been sent with that button
        fake._server.messages[int(message["id"])].replace(message)
    response = fake.click_button(message, "pmbot:ask:no-such-intent", user=new_user()).wait_response()
    assert response.ok and flags(response) & EPHEMERAL
    assert "/topics" in response.payload["content"]


def test_slash_cooldown_is_told_privately_every_time(fake: FakeDiscord, bot, new_user) -> None:
    from e2e_support import COOLDOWN_RATE

    user = new_user()
    for _ in range(COOLDOWN_RATE):
        assert not flags(fake.send_slash_command("ask", {"question": "What is project management?"}, user=user).wait_response()) & EPHEMERAL
    for _ in range(2):
        response = fake.send_slash_command("ask", {"question": "What is project management?"}, user=user).wait_response()
        assert response.ok and flags(response) & EPHEMERAL
        assert "wait" in response.payload["content"]


def test_role_compare_topics_and_ask_pmbot_count_against_the_cooldown(fake: FakeDiscord, bot, new_user) -> None:
    """Each posts a large embed to the channel: without the cooldown one member could fill a channel with them."""
    from e2e_support import COOLDOWN_RATE

    user = new_user()
    private = fake.send_slash_command("role", {"name": "scrum master", "private": True}, user=user).wait_response()
    assert private.ok and flags(private) & EPHEMERAL and embed(private)["title"] == "Scrum master"
    shown = [fake.send_slash_command(name, {}, user=user).wait_response() for name in ("compare", "topics")]
    assert all(r.ok and not flags(r) & EPHEMERAL and embed(r)["title"] for r in shown)
    for _ in range(COOLDOWN_RATE - 3):
        assert fake.send_slash_command("ask", {"question": "What is project management?"}, user=user).wait_response().ok
    held = fake.send_slash_command("role", {"name": "product owner"}, user=user).wait_response()
    assert held.ok and flags(held) & EPHEMERAL and "wait" in held.payload["content"] and not held.payload.get("embeds")
    asked = fake.send_message("general", "What is a product roadmap?", author=new_user())
    held = fake.send_message_command("Ask pmbot", asked, user=user).wait_response()
    assert held.ok and flags(held) & EPHEMERAL and "wait" in held.payload["content"], "and so does Apps → Ask pmbot"


def test_role_pm_asks_which_and_odd_spellings_are_understood(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    which = embed(fake.send_slash_command("role", {"name": "pm"}, user=user).wait_response())
    assert which["title"] == "Which PM?" and "ambiguous" in which["description"]
    for typed in ("Scrum Master (SM)", "“scrum master”"):
        response = fake.send_slash_command("role", {"name": typed}, user=user).wait_response()
        assert embed(response)["title"] == service.kb.roles["scrum-master"].name


def test_compare_one_aspect_with_autocomplete(fake: FakeDiscord, bot, new_user) -> None:
    user = new_user()
    choices = fake.send_autocomplete("compare", {"aspect": "horiz"}, "aspect", user=user).wait_choices()
    assert [c["value"] for c in choices] == ["Time horizon"]
    one = embed(fake.send_slash_command("compare", {"aspect": "Time horizon"}, user=user).wait_response())
    assert [f["name"] for f in one["fields"]] == ["Time horizon"]
    wrong = embed(fake.send_slash_command("compare", {"aspect": "scrum master"}, user=user).wait_response())
    assert "only one of these aspects" in wrong["description"]
