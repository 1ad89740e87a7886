"""End to end: questions asked in messages (mention, DM, help channel), buttons, pings, the cooldown.

The real bot process runs against the fake Discord with #pm-questions and the
#pm-forum forum as its help channels. Expected answers come from the same core
on the same knowledge in this process, so the tests check the wiring and the
rules, not the wording.
"""

from __future__ import annotations

import re

from e2e_support import (
    COOLDOWN_RATE,
    HELP_CHANNEL,
    HELP_FORUM,
    assert_no_pings,
    custom_ids,
    db_rows,
    embed,
    replies_to,
    reply_to,
    settle_with_sentinel,
    wait_for_log,
    wait_replies,
)
from fake_discord import FakeDiscord
from fake_discord.world import NO_HISTORY_CHANNEL, READ_ONLY_CHANNEL

from bot.knowledge import Intent
from bot.service import KnowledgeService


def expected_answer(service: KnowledgeService, question: str, follows: str | None = None) -> Intent:
    answer = service.ask(question, follows)
    assert answer.result.kind == "answer", f"{question!r} is not answered by the core: {answer.result}"
    return service.kb.intents[answer.result.intent_id]


def assert_answer(reply, intent: Intent, service: KnowledgeService) -> None:
    """The answer embed for ``intent``: its title, follow-up buttons and 👍/👎."""
    assert reply.ok
    assert embed(reply)["title"] == intent.title
    ids = custom_ids(reply)
    for follow_up in intent.follow_ups:
        if follow_up in service.kb.intents:
            assert f"pmbot:ask:{follow_up}" in ids
    assert {f"pmbot:vote:up:{intent.id}", f"pmbot:vote:down:{intent.id}"} <= set(ids)
    assert_no_pings(reply.payload)


def test_connects_with_message_content_intent_and_syncs_only_the_dev_guild(fake: FakeDiscord, bot) -> None:
    assert fake.identifies[-1]["intents"] & (1 << 15), "help channels need the Message Content intent"
    activity = fake.identifies[-1]["presence"]["game"]  # where discord.py puts it in IDENTIFY
    assert (activity["type"], activity["name"]) == (2, "/ask · /help"), "members see what pmbot listens to"
    assert fake.global_commands == [], "never a global sync on start"
    names = {c["name"] for c in fake.guild_commands}
    assert names == {"ask", "help", "role", "compare", "topics", "kb", "config", "privacy", "Ask pmbot"}
    menu = next(c for c in fake.guild_commands if c["name"] == "Ask pmbot")
    assert menu["type"] == 3, "a message's Apps menu"


def test_mention_gets_the_answer_with_follow_up_buttons(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "what does a product manager do?"
    intent = expected_answer(service, question)
    sent = fake.send_message("general", question, author=new_user(), mentions_bot=True)
    reply = reply_to(fake, sent)
    assert_answer(reply, intent, service)
    assert reply.json["allowed_mentions"].get("replied_user") is False
    assert reply.channel_id == fake.channel_id("general")


def test_the_mention_is_not_part_of_the_question(fake: FakeDiscord, bot, service, new_user) -> None:
    intent = expected_answer(service, "What is project management?")
    sent = fake.send_message("general", f"<@{fake.bot_id}>, What is project management?", author=new_user())
    assert_answer(reply_to(fake, sent), intent, service)
    sent = fake.send_message("general", f"What is project management? <@!{fake.bot_id}>", author=new_user())
    assert embed(reply_to(fake, sent))["title"] == intent.title


def test_bare_mention_gets_help(fake: FakeDiscord, bot, new_user) -> None:
    sent = fake.send_message("general", "", author=new_user(), mentions_bot=True)
    reply = reply_to(fake, sent)
    assert embed(reply)["title"] == "How to use pmbot"
    assert all(i.startswith("pmbot:ask:") for i in custom_ids(reply))


def test_dm_gets_the_answer(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "explain the difference between product and project managers"
    intent = expected_answer(service, question)
    user = new_user()
    sent = fake.send_dm(question, author=user)
    reply = reply_to(fake, sent)
    assert reply.channel_id == fake.dm_channel_id(user)
    assert_answer(reply, intent, service)


def test_help_channel_question_gets_the_answer_without_a_mention(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "How do product and project managers work together?"
    intent = expected_answer(service, question)
    sent = fake.send_message(HELP_CHANNEL, question, author=new_user())
    assert_answer(reply_to(fake, sent), intent, service)


def test_a_help_forum_post_is_answered_from_its_title(fake: FakeDiscord, bot, service, new_user) -> None:
    """A forum post's question is often its title; its body alone is context the bot leaves alone."""
    title, body = "PO vs PM: who owns the backlog?", "We're a team of six and nobody agrees. Our PO says it's her job."
    assert service.ask(body).result.kind != "answer"
    intent = expected_answer(service, f"{title} {body}")
    opened = fake.open_forum_post(HELP_FORUM, title, body, author=new_user())
    reply = reply_to(fake, opened)
    assert reply.channel_id == int(opened["channel_id"]) == int(opened["id"])  # in the post, under its first message
    assert_answer(reply, intent, service)


def test_a_forwarded_question_is_answered_where_pmbot_listens_and_by_ask_pmbot(
        fake: FakeDiscord, bot, service, new_user) -> None:
    """Discord sends a forward with no content of its own, its question in a copy of the original beside it."""
    question = "What does a scrum master do that a project manager doesn't?"
    intent = expected_answer(service, question)
    original = fake.send_message("general", question, author=new_user())
    user = new_user()
    assert_answer(reply_to(fake, fake.forward_message(original, fake.dm_channel(user), author=user)), intent, service)
    assert_answer(reply_to(fake, fake.forward_message(original, HELP_CHANNEL, author=new_user())), intent, service)

    mentioned = fake.send_message("general", question, author=new_user(), mentions_bot=True)
    reply_to(fake, mentioned)
    elsewhere = fake.forward_message(mentioned, "general", author=new_user())  # the mention was not this member's
    settle_with_sentinel(fake, "general", new_user())
    assert replies_to(fake, {elsewhere["id"]}) == []
    response = fake.send_message_command("Ask pmbot", elsewhere, user=new_user()).wait_response()
    assert embed(response)["title"] == intent.title


def test_a_follow_up_replying_to_an_answer_is_answered_anywhere(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    first = reply_to(fake, fake.send_message("general", "What is product management?", author=user, mentions_bot=True))
    follow_up = "and how is that different from what a scrum master does?"
    intent = expected_answer(service, follow_up)
    thanks = fake.send_message("general", "great, thanks", author=user, reply_to=first)
    asked = fake.send_message("general", follow_up, author=user, reply_to=first)
    assert_answer(reply_to(fake, asked), intent, service)
    assert replies_to(fake, {thanks["id"]}) == [], "a reply that asks nothing is left alone"


def test_a_bare_role_replying_to_an_answer_asks_that_answer_of_the_role(fake: FakeDiscord, bot, service, new_user) -> None:
    """The bot reads which answer a reply follows from that answer's buttons, as Discord sends it back."""
    user = new_user()
    asked = expected_answer(service, "How much does a product manager earn?")
    asking = fake.send_message("general", "How much does a product manager earn?", author=user, mentions_bot=True)
    first = reply_to(fake, asking)
    follow_up = "what about project managers?"
    assert service.ask(follow_up).result.kind != "answer", "alone it names a role and asks nothing"
    intent = expected_answer(service, follow_up, asked.id)
    assert intent.id != asked.id
    assert_answer(reply_to(fake, fake.send_message("general", follow_up, author=user, reply_to=first)), intent, service)


def test_a_bare_role_typed_after_an_answer_follows_the_askers_answer(fake: FakeDiscord, bot, service, new_user) -> None:
    """In a DM, or mentioning the bot, people type the follow-up rather than reply: the bot looks back for their answer."""
    user, other = new_user(), new_user()
    question, follow_up = "How much does a product manager earn?", "what about project managers?"
    intent = expected_answer(service, follow_up, expected_answer(service, question).id)
    reply_to(fake, fake.send_dm(question, author=user))
    assert_answer(reply_to(fake, fake.send_dm(follow_up, author=user)), intent, service)
    reply_to(fake, fake.send_message("general", question, author=user, mentions_bot=True))
    someone_elses = reply_to(fake, fake.send_message("general", follow_up, author=other, mentions_bot=True))
    assert embed(someone_elses)["title"] != intent.title, "another member's answer is not theirs to follow"
    mine = reply_to(fake, fake.send_message("general", follow_up, author=user, mentions_bot=True))
    assert_answer(mine, intent, service)


def test_a_mention_replying_to_a_members_question_answers_it(fake: FakeDiscord, bot, service, new_user) -> None:
    """Someone asks in #general without mentioning the bot; another member replies "@pmbot ^" to call it in."""
    asker, helper = new_user(), new_user()
    question = "How much does a product manager earn?"
    intent = expected_answer(service, question)
    asked = fake.send_message("general", question, author=asker)
    called = fake.send_message("general", "^", author=helper, mentions_bot=True, reply_to=asked)
    reply = reply_to(fake, called)
    assert_answer(reply, intent, service)
    assert replies_to(fake, {asked["id"]}) == [], "the bot answers the member who called it in, under their message"
    chat = fake.send_message("general", "we shipped it on friday", author=asker)
    assert embed(reply_to(fake, fake.send_message("general", "", author=helper, mentions_bot=True, reply_to=chat)))[
        "title"] == "How to use pmbot", "a bare mention under chat still gets the help"


def test_an_edited_question_is_answered_again(fake: FakeDiscord, bot, service, new_user) -> None:
    """A question fixed soon after it was asked gets the new answer: in the bot's reply, edited, or in a first
    reply when the help channel stayed silent on the message as first written; edited to ask nothing, it loses it."""
    user = new_user()
    unfinished, fixed = "what does a", "what does a product owner do?"
    assert service.ask(unfinished).result.kind != "answer"
    intent = expected_answer(service, fixed)
    asked = fake.send_message("general", unfinished, author=user, mentions_bot=True)
    first = reply_to(fake, asked)
    gap = "SELECT text FROM unanswered_questions WHERE message_id = ?"
    assert db_rows(bot.database, gap, (int(asked["id"]),)) != []
    fake.edit_message(asked, f"<@{fake.bot_id}> {fixed}")
    edited = fake.wait_for(lambda r: r.kind == "message.edit" and r.ok and r.message_id == int(first.message["id"]))
    assert_answer(edited, intent, service)
    assert db_rows(bot.database, gap, (int(asked["id"]),), want=0) == [], "answered now: no longer a gap"

    said = fake.send_message(HELP_CHANNEL, "product owners", author=user)  # not a question: the channel is left alone
    fake.edit_message(said, fixed)
    answer = reply_to(fake, said)
    assert_answer(answer, intent, service)
    fake.edit_message(said, "never mind, found it")  # asks nothing now: the answer goes
    fake.wait_for(lambda r: r.kind == "message.delete" and r.ok and r.message_id == int(answer.message["id"]))


def test_an_edited_question_is_not_answered_twice_where_pmbot_may_not_read_the_history(
    fake: FakeDiscord, bot, service, new_user
) -> None:
    """Discord returns no history there, which would look as if the question had no reply yet: pmbot cannot find
    its answer to edit, and leaves the first alone rather than post a second under it. Discord refuses a reply there
    too, so the answer names its asker instead."""
    user = new_user()
    channel = fake.channel(NO_HISTORY_CHANNEL).id
    since = fake.cursor()
    asked = fake.send_message(NO_HISTORY_CHANNEL, "what does a product owner do?", author=user, mentions_bot=True)
    answer = fake.wait_for(lambda r: r.kind == "message.create" and r.channel_id == channel, since=since)
    assert answer.ok and answer.content == user.mention and "message_reference" not in answer.json
    logged = len(bot.log())
    fake.edit_message(asked, f"<@{fake.bot_id}> what does a project manager do?")
    wait_for_log(bot, f"not answering edited message {asked['id']} again: pmbot lacks Read Message History", after=logged)
    assert [r for r in fake.sent[since:] if r.kind in ("message.create", "message.edit") and r.channel_id == channel] == [answer]


def test_a_deleted_question_takes_its_reply_and_its_gap_with_it(fake: FakeDiscord, bot, service, new_user) -> None:
    """Deleted by its author soon after, or purged by a moderator: the bot's reply goes, and so do the words the
    gaps list kept."""
    user = new_user()
    unsure = "what does a PM do"
    assert service.ask(unsure).result.kind == "suggest"
    asked = fake.send_message("general", unsure, author=user, mentions_bot=True)
    reply = reply_to(fake, asked)
    gap = "SELECT text FROM unanswered_questions WHERE message_id = ?"
    assert db_rows(bot.database, gap, (int(asked["id"]),)) != []
    fake.delete_messages(asked)
    fake.wait_for(lambda r: r.kind == "message.delete" and r.ok and r.message_id == int(reply.message["id"]))
    assert db_rows(bot.database, gap, (int(asked["id"]),), want=0) == []

    first, second = (fake.send_message("general", q, author=user, mentions_bot=True)
                     for q in ("what is scope creep?", "what is an MVP?"))
    first_reply, second_reply = reply_to(fake, first), reply_to(fake, second)
    fake.delete_messages(first, second, first_reply.message["id"])  # a moderator's purge, one reply caught in it
    fake.wait_for(lambda r: r.kind == "message.delete" and r.ok and r.message_id == int(second_reply.message["id"]))


def test_help_channel_stays_silent_on_chat_and_off_topic(fake: FakeDiscord, bot, new_user) -> None:
    user = new_user()
    explained = fake.send_message(HELP_CHANNEL, "our PO owns the backlog, the PM owns the dates", author=new_user())
    chatter = [
        # a question for the member it replies to, in their conversation
        fake.send_message(HELP_CHANNEL, "What is project management, then?", author=user, reply_to=explained),
        fake.send_message(HELP_CHANNEL, "what's the weather like in Lisbon today?", author=user),  # a question, off-topic
        fake.send_message(HELP_CHANNEL, "lol same, product managers are great", author=user),  # not a question
        fake.send_message(HELP_CHANNEL, "hi all, how are you?", author=user),  # small talk for the room, not for pmbot
        fake.send_message(HELP_CHANNEL, "hey everyone, how's it going?", author=user),
        fake.send_message(HELP_CHANNEL, "thanks! did that fix it for you too?", author=user),
        fake.send_message("general", "What is project management?", author=user),  # not a help channel, no mention
    ]
    settle_with_sentinel(fake, "general", new_user())
    assert replies_to(fake, {m["id"] for m in chatter}) == []


def test_follow_up_click_answers_the_follow_up(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    intent = expected_answer(service, "What is product management?")
    sent = fake.send_message("general", "What is product management?", author=user, mentions_bot=True)
    reply = reply_to(fake, sent)
    follow_up = service.kb.intents[intent.follow_ups[0]]
    click = fake.click_button(reply, f"pmbot:ask:{follow_up.id}", user=user)  # waits ~0.5 s for the message to settle
    response = click.wait_response()
    assert response.ok and response.response_type == 4
    assert not (response.payload.get("flags") or 0) & 64, "a chosen follow-up is answered for the channel"
    assert_answer(response, follow_up, service)
    # and the follow-up's own buttons work too, on the message the click created
    nxt = next(i for i in follow_up.follow_ups if i in service.kb.intents)
    again = fake.click_button(click, f"pmbot:ask:{nxt}", user=user).wait_response()
    assert embed(again)["title"] == service.kb.intents[nxt].title


def test_a_mixed_question_offers_its_other_topic_as_the_first_button(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "How do I become a product manager and what does it pay?"
    result = service.ask(question).result
    assert result.kind == "answer" and result.also, result.reason
    reply = reply_to(fake, fake.send_dm(question, author=new_user()))
    assert custom_ids(reply)[: len(result.also)] == [f"pmbot:ask:{i}" for i in result.also]
    assert_answer(reply, service.kb.intents[result.intent_id], service)


def test_vote_buttons_record_feedback(fake: FakeDiscord, bot, service, new_user) -> None:
    user = new_user()
    sent = fake.send_dm("What is project management?", author=user)
    reply = reply_to(fake, sent)
    intent_id = expected_answer(service, "What is project management?").id
    response = fake.click_button(reply, f"pmbot:vote:down:{intent_id}", user=user).wait_response()
    assert response.ok and response.payload["flags"] & 64, "votes are thanked privately"
    rows = db_rows(bot.database, "SELECT message_id, user_id, intent_id, vote FROM feedback_votes WHERE user_id = ?", (user.id,))
    assert rows == [(reply.message_id, user.id, intent_id, -1)]


def test_a_downvote_puts_the_answered_question_in_the_gaps_list_once(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "Who writes the user stories, the product manager or the project manager?"
    intent_id = expected_answer(service, question).id
    normalised = service.ask(question).result.normalised
    asked = fake.send_message("general", question, author=new_user(), mentions_bot=True)
    reply = reply_to(fake, asked)
    gaps = "SELECT kind, best_intent, original_text, message_id FROM unanswered_questions WHERE text = ?"
    assert fake.click_button(reply, f"pmbot:vote:up:{intent_id}", user=new_user()).wait_response().ok
    assert db_rows(bot.database, gaps, (normalised,), want=0) == [], "a 👍 leaves the gaps list alone"

    voters = new_user(), new_user()
    gap = [("downvoted", intent_id, question, int(asked["id"]))]
    for voter in voters:  # the question is kept before the vote is thanked
        assert fake.click_button(reply, f"pmbot:vote:down:{intent_id}", user=voter).wait_response().ok
        assert db_rows(bot.database, gaps, (normalised,)) == gap
    assert len(db_rows(bot.database, "SELECT 1 FROM feedback_votes WHERE message_id = ?", (reply.message_id,), want=3)) == 3

    def vote(voter: str, word: str) -> None:
        assert fake.click_button(reply, f"pmbot:vote:{word}:{intent_id}", user=voter).wait_response().ok

    vote(voters[0], "up")
    assert db_rows(bot.database, gaps, (normalised,)) == gap, "another member's 👎 still stands"
    vote(voters[1], "up")  # the last 👎 taken back: a mistaken click leaves no gap
    assert db_rows(bot.database, gaps, (normalised,), want=0) == []
    vote(voters[1], "down")
    assert db_rows(bot.database, gaps, (normalised,)) == gap, "and a 👎 again puts it back"

    fake.delete_messages(asked)  # its question deleted, its gap goes as any other
    assert db_rows(bot.database, gaps, (normalised,), want=0) == []


def test_suggestions_are_buttons_and_unanswered_questions_are_logged(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "what does a PM do"
    result = service.ask(question).result
    assert result.kind == "suggest"
    user = new_user()
    reply = reply_to(fake, fake.send_message("general", question, author=user, mentions_bot=True))
    assert embed(reply)["title"] == "Did you mean…"
    assert custom_ids(reply) == [f"pmbot:ask:{i}" for i in result.suggestions]
    rows = db_rows(bot.database, "SELECT kind, text, user_id FROM unanswered_questions WHERE text = ?", (result.normalised,))
    assert rows == [("suggest", result.normalised, None)], "logged, without who asked (PMBOT_STORE_USER_IDS is off)"


def test_fallback_to_a_direct_question_offers_examples(fake: FakeDiscord, bot, service, new_user) -> None:
    question = "what is the best pizza topping"
    assert service.ask(question).result.kind == "fallback"
    reply = reply_to(fake, fake.send_message("general", question, author=new_user(), mentions_bot=True))
    assert embed(reply)["title"] == "Sorry, I don't know that one"
    assert custom_ids(reply), "a fallback offers example questions"
    rows = db_rows(bot.database, "SELECT kind FROM unanswered_questions WHERE text LIKE '%pizza%'")
    assert rows == [("fallback",)]


def test_everyone_and_role_mentions_in_the_question_ping_nobody(fake: FakeDiscord, bot, new_user) -> None:
    role = fake.role("Moderators")
    someone = fake.normal_user
    for channel, text, mention in [
        ("general", "@everyone what does a PM do", True),
        (HELP_CHANNEL, "@everyone what does a product manager do", False),
        ("general", f"@here <@&{role.id}> <@{someone.id}> what does a product manager do?", True),
    ]:
        sent = fake.send_message(channel, text, author=new_user(), mentions_bot=mention)
        assert_no_pings(reply_to(fake, sent).payload)  # and the fake rejects any payload that could ping


def test_awkward_messages_get_a_reply_and_no_crash(fake: FakeDiscord, bot, new_user) -> None:
    awkward = [
        "😀😀😀🚀",
        "**bold** _it_ ~~strike~~ `code` ```block``` > quote ?",
        "what is " + "very " * 790 + "long?",  # ~4000 characters (Nitro's limit)
        "|| spoiler || <#123> <:emoji:123456789012345678> ?",
        "   \n\t  ",
    ]
    sent = [fake.send_message("general", text, author=new_user(), mentions_bot=True) for text in awkward]
    for message in sent:
        reply = reply_to(fake, message)
        assert reply.ok and embed(reply)["title"]
    assert bot.alive()
    assert "Traceback" not in bot.log()


def test_twenty_rapid_messages_get_answers_up_to_the_cooldown_and_one_notice(fake: FakeDiscord, bot, new_user) -> None:
    user = new_user()
    sent = [
        fake.send_message("general", f"What is project management? ({n})", author=user, mentions_bot=True)
        for n in range(20)
    ]
    wait_replies(fake, {m["id"] for m in sent}, COOLDOWN_RATE + 1)  # the answers and the one notice...
    settle_with_sentinel(fake, "general", new_user())  # ...and nothing more
    replies = replies_to(fake, {m["id"] for m in sent})
    answers = [r for r in replies if r.embeds]
    notices = [r for r in replies if not r.embeds]
    assert len(answers) == COOLDOWN_RATE
    assert len(notices) == 1
    assert re.search(r"Ask again in about \d+ seconds", notices[0].json["content"])
    assert_no_pings(notices[0].payload)
    # the answers went to the first messages (sent concurrently, so in any order), the notice to the next one
    answered = {str(r.json["message_reference"]["message_id"]) for r in answers}
    assert answered == {m["id"] for m in sent[:COOLDOWN_RATE]}
    assert str(notices[0].json["message_reference"]["message_id"]) == sent[COOLDOWN_RATE]["id"]


def test_the_bot_ignores_bots_and_itself(fake: FakeDiscord, bot, new_user) -> None:
    from_bot = [
        fake.send_message("general", "What is project management?", author="otherbot", mentions_bot=True),
        fake.send_message(HELP_CHANNEL, "What is project management?", author="otherbot"),
    ]
    settle_with_sentinel(fake, "general", new_user())
    assert replies_to(fake, {m["id"] for m in from_bot}) == []
    # Every answer the bot sends is echoed back to it over the gateway (as real Discord does);
    # by now it has seen dozens of its own messages. None of them may have been answered.
    own = {str(r.message_id) for r in fake.sent if r.kind == "message.create" and r.ok}
    settle_with_sentinel(fake, "general", new_user())  # after the echo of the last of them, the sentinel's reply
    assert replies_to(fake, own) == []


def test_a_channel_pmbot_may_not_post_in_is_not_asked_to_take_its_answer(fake: FakeDiscord, bot, new_user) -> None:
    """Discord refuses such a post, and counts each refusal against the bot: past 10,000 in 10 minutes it bars it."""
    since, logged = fake.cursor(), len(bot.log())
    fake.send_message(READ_ONLY_CHANNEL, "What is a product manager?", author=new_user(), mentions_bot=True)
    wait_for_log(bot, "pmbot lacks Send Messages there", after=logged)
    assert [r.summary() for r in fake.sent[since:] if r.channel_id == fake.channel_id(READ_ONLY_CHANNEL)] == []
