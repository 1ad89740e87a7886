"""Unit tests of the Discord front end with mocks specced from real discord.py objects.

In the style of python-discord/bot's tests/helpers.py: every mock is built
with ``spec=`` a real discord.py class, so a typo'd attribute or a wrong call
fails here instead of in production; ``isinstance`` checks in the code see
the right types. Nothing here opens a socket: the end-to-end tests in
tests/e2e run the real process against the fake Discord.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from bot.config import BUNDLED_KNOWLEDGE, Settings
from bot.discord import listening
from bot.discord.app import PMBot, bot_intents
from bot.discord.checks import ModeratorGroup, moderator_refusal
from bot.discord.cogs.config import ServerConfig
from bot.discord.cogs.moderation import Moderation
from bot.discord.health import Metrics
from bot.reply_tally import ReplyTally
from bot.store import Store
from bot.discord.cogs.questions import NO_TEXT, REVISION_WINDOW, Questions
from bot.discord.cogs.roles import Roles
from bot.discord.recent_answers import RecentAnswers
from bot.discord.search import IntentSearch
from bot.matching.normalise import MAX_INPUT_CHARS
from bot.discord.cooldown import GuildCooldowns
from bot.guild_settings import GuildSettingsCache
from bot.discord.errors import SORRY, CooldownActive, NotModerator, guarded, on_event_error, on_interaction_error
from bot.discord.kb_replies import problems_block
from bot.keeper import KnowledgeKeeper
from bot.discord import render
from bot.discord.render import AskButton, TopicsSelect, VoteButton
from bot.knowledge import KnowledgeBase, Problem
from bot.replies import Reply, answer_reply, help_reply
from bot.service import KnowledgeService
from tests.conftest import warm_service

BOT_ID = 1000000000000000001
BOT_ROLE_ID = 1100000000000000102
GUILD_ID = 1100000000000000001
HELP_CHANNEL_ID = 1100000000000000202
GENERAL_ID = 1100000000000000201
MOD_ROLE_ID = 1100000000000000100


# -- mocks specced from discord.py -----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def mock_role(role_id: int) -> MagicMock:
    role = MagicMock(spec=discord.Role)
    role.id = role_id
    return role


def mock_guild(guild_id: int = GUILD_ID, self_role_id: int | None = BOT_ROLE_ID) -> MagicMock:
    guild = MagicMock(spec=discord.Guild)
    guild.id = guild_id
    guild.self_role = mock_role(self_role_id) if self_role_id else None
    guild.get_thread.return_value = None  # no thread started on any message
    return guild


def mock_member(user_id: int = 42, *, bot: bool = False, role_ids: tuple[int, ...] = (), manage_guild: bool = False) -> MagicMock:
    member = MagicMock(spec=discord.Member)
    member.id = user_id
    member.bot = bot
    member.roles = [mock_role(r) for r in role_ids]
    member.guild_permissions = discord.Permissions(manage_guild=manage_guild)
    return member


def mock_user(user_id: int = 42, *, bot: bool = False) -> MagicMock:
    user = MagicMock(spec=discord.User)
    user.id = user_id
    user.bot = bot
    return user


def mock_me() -> MagicMock:
    me = MagicMock(spec=discord.ClientUser)
    me.id = BOT_ID
    me.bot = True
    return me


def mock_text_channel(channel_id: int = GENERAL_ID) -> MagicMock:
    channel = MagicMock(spec=discord.TextChannel)
    channel.id = channel_id
    return channel


def mock_thread(thread_id: int, parent_id: int, name: str = "thread") -> MagicMock:
    thread = MagicMock(spec=discord.Thread)
    thread.id = thread_id
    thread.parent_id = parent_id
    thread.name = name
    return thread


def mock_dm_channel(channel_id: int = 1300000000000000001) -> MagicMock:
    channel = MagicMock(spec=discord.DMChannel)
    channel.id = channel_id
    return channel


_message_ids = iter(range(5_000_000_000_000_000_000, 6_000_000_000_000_000_000))


def mock_message(
    content: str,
    *,
    author: MagicMock | None = None,
    channel: MagicMock | None = None,
    dm: bool = False,
    type: discord.MessageType = discord.MessageType.default,
    webhook_id: int | None = None,
) -> MagicMock:
    message = MagicMock(spec=discord.Message)
    message.id = next(_message_ids)
    message.content = content
    message.type = type
    message.webhook_id = webhook_id
    if dm:
        message.guild = None
        message.channel = channel or mock_dm_channel()
        message.author = author or mock_user()
    else:
        message.guild = mock_guild()
        message.channel = channel or mock_text_channel()
        message.author = author or mock_member()
    message.to_reference.return_value = MagicMock(spec=discord.MessageReference)
    message.reference = None
    message.message_snapshots = []
    return message


def replying_to(message: MagicMock, replied: MagicMock | None) -> MagicMock:
    """The message as a reply to ``replied`` (None: to a message Discord no longer has)."""
    message.type = discord.MessageType.reply
    message.reference = MagicMock(spec=discord.MessageReference)
    message.reference.type = discord.MessageReferenceType.reply
    message.reference.resolved = replied
    return message


def mock_interaction(user: MagicMock | None = None, *, client: Any = None, permissions: discord.Permissions | None = None) -> MagicMock:
    interaction = MagicMock(spec=discord.Interaction)
    interaction.id = 77
    interaction.user = user or mock_member()
    interaction.client = client
    interaction.guild_id = GUILD_ID
    interaction.channel_id = GENERAL_ID
    interaction.permissions = permissions or discord.Permissions.none()
    interaction.command = None
    interaction.data = {"custom_id": "pmbot:test"}
    interaction.response = MagicMock(spec=discord.InteractionResponse)
    interaction.response.is_done.return_value = False

    async def answered(*args: Any, **kwargs: Any) -> None:  # like discord.py: once answered, is_done() is True
        interaction.response.is_done.return_value = True

    interaction.response.defer.side_effect = answered
    interaction.response.send_message.side_effect = answered
    interaction.followup = MagicMock(spec=discord.Webhook)
    return interaction


@pytest.fixture(scope="module")
def service() -> KnowledgeService:
    return warm_service(BUNDLED_KNOWLEDGE)


def make_bot(service: KnowledgeService, **settings: Any) -> MagicMock:
    """A PMBot as the cogs see it: real settings, knowledge and cooldown; the Discord side mocked."""
    options: dict[str, Any] = {
        "listen_channel_ids": frozenset({HELP_CHANNEL_ID}),
        "moderator_role_ids": frozenset({MOD_ROLE_ID}),
        "cooldown_rate": 5,
        "cooldown_seconds": 60.0,
    }
    options.update(settings)
    bot = MagicMock(spec=PMBot)
    bot.settings = Settings(**options)
    bot.service = service
    search = IntentSearch.build(service.kb)
    bot.intent_search = lambda: search
    bot.store = None
    bot.clock = FakeClock()
    bot.guild_settings = GuildSettingsCache(None, bot.settings)
    bot.cooldowns = GuildCooldowns(lambda _: (bot.settings.cooldown_rate, bot.settings.cooldown_seconds), clock=bot.clock)
    bot.is_owner = AsyncMock(return_value=False)
    bot.guilds = []
    bot.user = mock_me()
    bot.record_unanswered = AsyncMock()
    bot.metrics = Metrics(bot)
    bot.tally = ReplyTally()
    bot.keeper = KnowledgeKeeper(service, keep=bot.settings.knowledge_backups, max_bytes=bot.settings.upload_max_bytes)
    return bot


def sent_embed(channel: MagicMock, call: int = -1) -> discord.Embed:
    return channel.send.await_args_list[call].kwargs["embed"]


# -- listening rules -------------------------------------------------------------------------


LISTEN = frozenset({HELP_CHANNEL_ID})


@pytest.mark.parametrize(
    "content, expected",
    [
        (f"<@{BOT_ID}> what is a PM?", "what is a PM?"),
        (f"<@!{BOT_ID}>, what is a PM?", "what is a PM?"),
        (f"what is a PM <@{BOT_ID}>", "what is a PM"),
        (f"<@&{BOT_ROLE_ID}>: what is a PM", "what is a PM"),
        (f"<@{BOT_ID}>", ""),
        (f"  <@{BOT_ID}>   \n  hi   there ", "hi there"),
        (f"<@{BOT_ID}> ask <@123456789012345678> what a PM is", "ask <@123456789012345678> what a PM is"),
    ],
)
def test_strip_bot_mention(content: str, expected: str) -> None:
    assert listening.strip_bot_mention(content, BOT_ID, BOT_ROLE_ID) == expected


def test_never_answers_bots_itself_webhooks_or_system_messages() -> None:
    me = mock_me()
    question = f"<@{BOT_ID}> what is a product manager?"
    assert listening.heard_question(mock_message(question, author=mock_member(bot=True)), me, LISTEN) is None
    assert listening.heard_question(mock_message(question, author=mock_member(BOT_ID)), me, LISTEN) is None
    assert listening.heard_question(mock_message(question, webhook_id=99), me, LISTEN) is None
    pinned = mock_message(question, type=discord.MessageType.pins_add)
    assert listening.heard_question(pinned, me, LISTEN) is None
    dm_from_bot = mock_message("what is a product manager?", dm=True, author=mock_user(bot=True))
    assert listening.heard_question(dm_from_bot, me, LISTEN) is None


def test_dms_are_always_direct() -> None:
    heard = listening.heard_question(mock_message("product managers are great", dm=True), mock_me(), LISTEN)
    assert heard == listening.Heard("product managers are great", "direct")


def test_mentions_are_direct_and_stripped_in_any_channel() -> None:
    for content in (f"<@{BOT_ID}> what is a PM", f"<@!{BOT_ID}> what is a PM", f"<@&{BOT_ROLE_ID}> what is a PM"):
        heard = listening.heard_question(mock_message(content), mock_me(), frozenset())
        assert heard == listening.Heard("what is a PM", "direct")
    bare = listening.heard_question(mock_message(f"<@{BOT_ID}>"), mock_me(), frozenset())
    assert bare == listening.Heard("", "direct")


def test_a_reply_ping_is_not_a_mention() -> None:
    # Replying to the bot lists it in message.mentions, but "thanks!" is not a question for it.
    message = mock_message("thanks!", type=discord.MessageType.reply)
    message.mentions = [mock_me()]
    assert listening.heard_question(message, mock_me(), LISTEN) is None


def test_a_question_replying_to_the_bot_is_heard_in_any_channel() -> None:
    """A follow-up asked as a reply to one of the bot's answers, as in a help channel: questions only."""
    me, answer = mock_me(), mock_message("an answer")
    answer.author = mock_me()
    follow_up = replying_to(mock_message("and how is that different from a scrum master?"), answer)
    assert listening.heard_question(follow_up, me, frozenset()) == listening.Heard(
        "and how is that different from a scrum master?", "passive"
    )
    assert listening.heard_question(replying_to(mock_message("cool, thanks"), answer), me, frozenset()) is None
    to_someone = replying_to(mock_message("what does a scrum master do?"), mock_message("I'm a scrum master"))
    assert listening.heard_question(to_someone, me, frozenset()) is None
    to_deleted = replying_to(mock_message("what does a scrum master do?"), None)
    assert listening.heard_question(to_deleted, me, frozenset()) is None


def test_a_help_channel_question_replying_to_another_member_is_left_to_them() -> None:
    """Under a member's message it asks that member; under one's own it goes on asking; a mention still calls pmbot."""
    me, member, help_channel = mock_me(), mock_member(), mock_text_channel(HELP_CHANNEL_ID)

    def says(content: str) -> MagicMock:
        return mock_message(content, author=member, channel=help_channel)

    asked = says("what does a scrum master do?")
    assert listening.heard_question(asked, me, LISTEN) == listening.Heard("what does a scrum master do?", "passive")
    explained = mock_message("a PO owns the backlog", author=mock_member(4321), channel=help_channel)
    assert listening.heard_question(replying_to(says("what does a scrum master do, then?"), explained), me, LISTEN) is None
    to_self = replying_to(says("what does a scrum master do?"), says("anyone?"))
    assert listening.heard_question(to_self, me, LISTEN) == listening.Heard("what does a scrum master do?", "passive")
    called = replying_to(says(f"<@{BOT_ID}> what does a scrum master do?"), explained)
    assert listening.heard_question(called, me, LISTEN).direct


def test_a_forward_is_read_for_the_text_it_forwards_and_replies_to_nobody() -> None:
    """Discord sends a forward with no content of its own; its reference points where the copy came from."""
    me, help_channel = mock_me(), mock_text_channel(HELP_CHANNEL_ID)
    original = mock_message(f"<@{BOT_ID}> what does a scrum master do?", author=mock_member(4321), channel=help_channel)
    forward = replying_to(mock_message("", channel=help_channel), original)
    forward.type = discord.MessageType.default
    forward.reference.type = discord.MessageReferenceType.forward
    forward.message_snapshots = [MagicMock(spec=discord.MessageSnapshot, content=original.content)]
    heard = listening.heard_question(forward, me, LISTEN)
    assert heard == listening.Heard(f"<@{BOT_ID}> what does a scrum master do?", "passive"), "not a mention of theirs"
    assert listening.heard_question(forward, me, frozenset()) is None, "and outside a help channel, not for pmbot"


def bot_message(reply: Reply) -> MagicMock:
    """One of the bot's messages as Discord sends it back: its components rebuilt from the wire format."""
    message = mock_message("")
    message.author = mock_me()
    message.interaction_metadata = None
    message.components = [discord.ActionRow(row) for row in render.to_view(reply).to_components()]
    return message


def test_a_reply_to_an_answer_knows_which_answer_it_follows(kb: KnowledgeBase) -> None:
    """The answer's intent comes from its 👍/👎 buttons."""
    me, answer = mock_me(), bot_message(answer_reply(kb, kb.intents["product-manager-salary"]))
    heard = listening.heard_question(replying_to(mock_message("what about project managers?"), answer), me, frozenset())
    assert heard == listening.Heard("what about project managers?", "passive", "product-manager-salary")
    mentioned = replying_to(mock_message(f"<@{BOT_ID}> and project managers"), answer)
    assert listening.heard_question(mentioned, me, frozenset()).follows == "product-manager-salary"
    to_help = replying_to(mock_message("what about project managers?"), bot_message(help_reply(kb)))
    assert listening.heard_question(to_help, me, frozenset()).follows is None, "only an answer has a question to follow"


def test_a_typed_follow_up_follows_only_the_askers_own_answer(kb: KnowledgeBase) -> None:
    me, asker, other = mock_me(), mock_member(1001), mock_member(1002)
    salary = bot_message(answer_reply(kb, kb.intents["product-manager-salary"]))
    answer = replying_to(salary, mock_message("?", author=asker))
    assert listening.answered(answer, me, asker) == "product-manager-salary"
    assert listening.answered(answer, me, other) is None
    clicked = bot_message(answer_reply(kb, kb.intents["scope-creep"]))  # the answer to a /ask or a button click
    clicked.interaction_metadata = MagicMock(spec=discord.MessageInteractionMetadata, user=asker)
    assert listening.answered(clicked, me, asker) == "scope-creep"
    assert listening.answered(clicked, me, other) is None
    not_mine = replying_to(mock_message("a member's own summary", author=other), mock_message("?", author=asker))
    assert listening.answered(not_mine, me, asker) is None


def test_a_mention_replying_to_a_members_message_quotes_it(kb: KnowledgeBase) -> None:
    """"@pmbot ^" under someone's question asks the bot to answer it; only a member's message is quoted."""
    me, theirs = mock_me(), mock_message("How much do  product managers\nearn?", author=mock_member(1002))
    heard = listening.heard_question(replying_to(mock_message(f"<@{BOT_ID}> ^"), theirs), me, frozenset())
    assert heard == listening.Heard("^", "direct", quoted="How much do product managers earn?")
    assert listening.heard_question(replying_to(mock_message(f"<@{BOT_ID}>"), theirs), me, frozenset()).quoted
    unaddressed = replying_to(mock_message("what is a PM?", channel=mock_text_channel(HELP_CHANNEL_ID)), theirs)
    assert listening.heard_question(unaddressed, me, LISTEN) is None, "only a mention asks for the quoted message"
    for other in (bot_message(answer_reply(kb, kb.intents["scope-creep"])), mock_message("?", author=mock_member(7, bot=True)),
                  mock_message("", author=mock_member(1002)), None):
        assert listening.heard_question(replying_to(mock_message(f"<@{BOT_ID}> ^"), other), me, frozenset()).quoted is None
    post = mock_thread(7005, parent_id=GENERAL_ID, name="Who owns the backlog?")
    opening = mock_message("Our PO and PM both edit it.", channel=post, author=mock_member(1002))
    opening.id = post.id
    mention = replying_to(mock_message(f"<@{BOT_ID}>", channel=post), opening)
    assert listening.heard_question(mention, me, frozenset()).quoted == "Who owns the backlog? Our PO and PM both edit it."


def test_help_channels_and_their_threads_hear_only_questions() -> None:
    me = mock_me()
    in_help = mock_text_channel(HELP_CHANNEL_ID)
    assert listening.heard_question(mock_message("what is a PM?", channel=in_help), me, LISTEN) == listening.Heard(
        "what is a PM?", "passive"
    )
    assert listening.heard_question(mock_message("nice weather", channel=in_help), me, LISTEN) is None
    assert listening.heard_question(mock_message("", channel=in_help), me, LISTEN) is None  # no Message Content intent
    thread = mock_thread(999, parent_id=HELP_CHANNEL_ID)
    assert listening.heard_question(mock_message("how do I become a PM", channel=thread), me, LISTEN).mode == "passive"
    other_thread = mock_thread(998, parent_id=GENERAL_ID)
    assert listening.heard_question(mock_message("what is a PM?", channel=other_thread), me, LISTEN) is None
    assert listening.heard_question(mock_message("what is a PM?"), me, LISTEN) is None  # #general, no mention


def test_a_forum_post_is_read_with_its_title() -> None:
    """In a help forum the question is often the post's title, above context or an image; later replies in the
    post, and messages in a thread started from a text channel's message, are read as typed."""
    me = mock_me()
    post = mock_thread(7001, parent_id=HELP_CHANNEL_ID, name="PO vs PM: who owns the backlog?")
    opening = mock_message("We're a team of six and nobody agrees.", channel=post)
    opening.id = post.id  # a post's first message shares the thread's id
    assert listening.heard_question(opening, me, LISTEN) == listening.Heard(
        "PO vs PM: who owns the backlog? We're a team of six and nobody agrees.", "passive"
    )
    image_only = mock_message("", channel=mock_thread(7002, parent_id=HELP_CHANNEL_ID, name="what does a scrum master do"))
    image_only.id = 7002  # an image and no text
    assert listening.heard_question(image_only, me, LISTEN) == listening.Heard("what does a scrum master do", "passive")
    elsewhere = mock_thread(7003, parent_id=GENERAL_ID, name="Roadmap vs project plan")
    mentioned = mock_message(f"<@{BOT_ID}> any ideas?", channel=elsewhere)
    mentioned.id = elsewhere.id
    heard = listening.heard_question(mentioned, me, LISTEN)
    assert heard == listening.Heard("Roadmap vs project plan. any ideas?", "direct")  # a full stop ends the title
    reply = mock_message("thanks, that helps", channel=post)
    assert listening.heard_question(reply, me, LISTEN) is None
    # A new post asks by being posted, question mark or not.
    story = mock_thread(7004, HELP_CHANNEL_ID, "Scope creep")
    asking = mock_message("My sponsor keeps changing scope every week.", channel=story)
    asking.id = story.id
    assert listening.heard_question(asking, me, LISTEN) == listening.Heard(
        "Scope creep. My sponsor keeps changing scope every week.", "passive"
    )


def test_intents_ask_for_message_content_unless_switched_off() -> None:
    # Any server may add a help channel with /config at any time, so the intent is asked for from the start.
    default = bot_intents(Settings())
    assert default.message_content
    assert default.guild_messages and default.dm_messages and not default.members
    assert not bot_intents(Settings(message_content=False, listen_channel_ids=frozenset({1}))).message_content


# -- the Questions cog on messages ----------------------------------------------------------


async def test_direct_question_is_answered_as_a_reply_that_pings_nobody(service: KnowledgeService) -> None:
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> What is project management?")
    await Questions(bot).on_message(message)
    message.channel.send.assert_awaited_once()
    kwargs = message.channel.send.await_args.kwargs
    assert kwargs["embed"].title == service.kb.intents["project-management-definition"].title
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert kwargs["mention_author"] is False
    assert kwargs["reference"] is message.to_reference.return_value
    message.to_reference.assert_called_once_with(fail_if_not_exists=False)
    view = kwargs["view"]
    assert view.timeout is None
    assert all(isinstance(item, (AskButton, VoteButton)) for item in view.children)
    bot.record_unanswered.assert_not_awaited()


async def test_a_bare_role_is_read_alone_where_the_history_is_out_of_reach(service: KnowledgeService) -> None:
    """Without Read Message History the bot cannot look back for the answer a follow-up follows: it still replies."""
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> what about project managers?")
    message.created_at = discord.utils.utcnow()

    async def forbidden(**_: Any) -> Any:  # discord.py asks for the history when the loop first reads it
        raise discord.Forbidden(MagicMock(status=403), "Missing Access")
        yield

    message.channel.history = MagicMock(side_effect=forbidden)
    await Questions(bot).on_message(message)
    message.channel.history.assert_called_once()
    message.channel.send.assert_awaited_once()
    alone = service.ask("what about project managers?").reply
    assert message.channel.send.await_args.kwargs["embed"].title == alone.title


async def test_a_bare_role_typed_after_the_askers_answer_asks_its_question_again(service: KnowledgeService) -> None:
    """Typed without replying (a DM, a mention), the follow-up finds the asker's answer in the channel's history."""
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> what about project managers?")
    salary = replying_to(bot_message(answer_reply(service.kb, service.kb.intents["product-manager-salary"])),
                         mock_message("how much do product managers earn?", author=message.author))
    salary.created_at = discord.utils.snowflake_time(message.id) - timedelta(minutes=2)

    async def history(**_: Any) -> Any:
        yield salary

    message.channel.history = MagicMock(side_effect=history)
    await Questions(bot).on_message(message)
    assert sent_embed(message.channel).title == service.kb.intents["project-manager-salary"].title
    bot.record_unanswered.assert_not_awaited()


async def test_a_mention_under_a_members_question_answers_it(service: KnowledgeService) -> None:
    """The mention's own words win when they ask something; a bare role asks the quoted question of that role."""
    salary, project_salary = (service.kb.intents[i].title for i in ("product-manager-salary", "project-manager-salary"))
    cases = [
        ("", "how much do product managers earn?", salary),
        ("can you answer this?", "how much do product managers earn?", salary),
        ("hey, can you help him?", "how much do product managers earn?", salary),
        ("what is scope creep?", "how much do product managers earn?", service.kb.intents["scope-creep"].title),
        ("and for project managers?", "how much do product managers earn?", project_salary),
        ("", "we shipped it on friday", "How to use pmbot"),
        ("roadmaps?", "how much do product managers earn?", "Did you mean…"),  # offered its own topic, below
    ]
    for own, quoted, title in cases:
        bot = make_bot(service)
        message = replying_to(mock_message(f"<@{BOT_ID}> {own}"), mock_message(quoted, author=mock_member(1002)))
        message.created_at = discord.utils.snowflake_time(message.id)
        message.channel.history = MagicMock(side_effect=_no_history)
        await Questions(bot).on_message(message)
        assert sent_embed(message.channel).title == title, (own, quoted)
        assert message.channel.send.await_args.kwargs["reference"] is message.to_reference.return_value
    offered = [item.custom_id for item in message.channel.send.await_args.kwargs["view"].children]
    assert "pmbot:ask:roadmap-vs-project-plan" in offered


def edited(content: str, earlier_answer: str | None, service: KnowledgeService, *, age: timedelta = timedelta(minutes=1),
           cached: str | None = None) -> tuple[MagicMock, MagicMock | None]:
    """A member's message edited `age` after it was sent, as on_raw_message_edit gets it, and the bot's reply to
    it answering `earlier_answer`'s intent (None: no reply), found in the history after it."""
    message = mock_message(content)
    message.created_at = discord.utils.utcnow() - age
    message.edited_at = discord.utils.utcnow()
    reply = None
    if earlier_answer is not None:
        reply = replying_to(bot_message(answer_reply(service.kb, service.kb.intents[earlier_answer])), message)
        reply.reference.message_id = message.id
        reply.embeds = [render.to_embed(answer_reply(service.kb, service.kb.intents[earlier_answer]))]
        reply.edit = AsyncMock()

    async def history(**_: Any) -> Any:
        if reply is not None:
            yield reply

    message.channel.history = MagicMock(side_effect=history)
    payload = MagicMock(spec=discord.RawMessageUpdateEvent, message=message, cached_message=None)
    if cached is not None:
        payload.cached_message = mock_message(cached)
    return payload, reply


async def test_where_discord_will_not_start_a_thread_the_help_channel_gets_a_reply(service: KnowledgeService) -> None:
    bot = make_bot(service, help_channel_threads=True)
    message = mock_message("What is a product manager?", channel=mock_text_channel(HELP_CHANNEL_ID))
    message.create_thread = AsyncMock(side_effect=discord.Forbidden(MagicMock(status=403), "Missing Permissions"))
    await Questions(bot).on_message(message)
    title = message.channel.send.await_args.kwargs["embed"].title
    assert message.create_thread.await_args.kwargs["name"] == title, "named after its answer, not the member's words"
    assert message.channel.send.await_args.kwargs["embed"].title, "answered all the same, as a reply"
    assert message.channel.send.await_args.kwargs["reference"] is message.to_reference.return_value


async def test_an_edited_question_gets_its_new_answer_in_the_same_reply(service: KnowledgeService) -> None:
    payload, reply = edited(f"<@{BOT_ID}> what is scope creep?", "mvp", service)
    await Questions(make_bot(service)).on_raw_message_edit(payload)
    assert reply.edit.await_args.kwargs["embed"].title == service.kb.intents["scope-creep"].title
    assert reply.edit.await_args.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    payload.message.channel.send.assert_not_awaited()


async def test_stats_count_a_question_once_however_often_it_is_edited(service: KnowledgeService) -> None:
    bot = make_bot(service)
    cog = Questions(bot)
    payload, reply = edited(f"<@{BOT_ID}> what is scope creep?", "mvp", service)
    await cog.on_message(mock_message(f"<@{BOT_ID}> what is an mvp?"))
    await cog.on_raw_message_edit(payload)
    reply.edit.assert_awaited()
    store = MagicMock(spec=Store)
    await bot.tally.flush(store)
    [(counts,)] = [call.args for call in store.add_reply_counts.await_args_list]
    assert [(c.kind, c.intent_id, c.count) for c in counts] == [("answer", "mvp", 1)], "the edit's answer is not counted"


async def test_an_edit_that_changes_no_answer_leaves_the_reply_alone(service: KnowledgeService) -> None:
    cases = [
        edited(f"<@{BOT_ID}> what is scope creep??", "scope-creep", service),  # the same answer
        edited(f"<@{BOT_ID}> what is scope creep?", "mvp", service, cached=f"<@{BOT_ID}> what is scope creep?"),  # unfurled
        edited(f"<@{BOT_ID}> what is scope creep?", "mvp", service, age=timedelta(hours=2)),  # too late
    ]
    for payload, reply in cases:
        bot = make_bot(service)
        await Questions(bot).on_raw_message_edit(payload)
        reply.edit.assert_not_awaited()
        payload.message.channel.send.assert_not_awaited()
        bot.record_unanswered.assert_not_awaited()


async def test_two_quick_edits_of_a_silent_question_get_one_reply(service: KnowledgeService) -> None:
    """The second edit waits for the first one's reply, finds it in the history, and edits it."""
    bot = make_bot(service)
    cog = Questions(bot)
    first, _ = edited(f"<@{BOT_ID}> what is scope creep?", None, service)
    message = first.message
    sent: list[MagicMock] = []

    async def send(**kwargs: Any) -> MagicMock:
        await asyncio.sleep(0)  # the request is in flight: the second edit's event arrives meanwhile
        reply = replying_to(bot_message(answer_reply(service.kb, service.kb.intents["scope-creep"])), message)
        reply.reference.message_id, reply.embeds, reply.edit = message.id, [kwargs["embed"]], AsyncMock()
        sent.append(reply)
        return reply

    async def history(**_: Any) -> Any:
        for reply in list(sent):
            yield reply

    message.channel.send = AsyncMock(side_effect=send)
    message.channel.history = MagicMock(side_effect=history)
    second = MagicMock(spec=discord.RawMessageUpdateEvent, message=message, cached_message=None)
    await asyncio.gather(cog.on_raw_message_edit(first), cog.on_raw_message_edit(second))
    message.channel.send.assert_awaited_once()
    sent[0].edit.assert_not_awaited()  # the same answer: nothing to change


async def test_an_edit_is_not_answered_twice_where_the_history_is_out_of_reach(service: KnowledgeService) -> None:
    payload, _ = edited(f"<@{BOT_ID}> what is scope creep?", None, service)

    async def forbidden(**_: Any) -> Any:
        raise discord.Forbidden(MagicMock(status=403), "Missing Access")
        yield

    payload.message.channel.history = MagicMock(side_effect=forbidden)
    await Questions(make_bot(service)).on_raw_message_edit(payload)
    payload.message.channel.send.assert_not_awaited()


async def _no_history(**_: Any) -> Any:
    return
    yield


async def answered_mention(service: KnowledgeService, answers: RecentAnswers | None = None,
                           ) -> tuple[Questions, MagicMock, MagicMock]:
    """A mention the bot answered, the bot with its partial messages mocked, and the bot's reply as a partial
    message (what the cog deletes)."""
    bot = make_bot(service)
    bot.forget_questions = AsyncMock()
    bot.get_partial_messageable.return_value = MagicMock(spec=discord.PartialMessageable)
    reply = bot.get_partial_messageable.return_value.get_partial_message.return_value = MagicMock(spec=discord.PartialMessage)
    cog = Questions(bot)
    cog.answers = answers or cog.answers
    message = mock_message(f"<@{BOT_ID}> what is scope creep?")
    reply.id = message.id + 1
    reply.channel.id = message.channel.id
    message.channel.send = AsyncMock(return_value=reply)
    await cog.on_message(message)
    return cog, message, reply


def deletion(*message_ids: int) -> MagicMock:
    if len(message_ids) == 1:
        return MagicMock(spec=discord.RawMessageDeleteEvent, message_id=message_ids[0], cached_message=None)
    return MagicMock(spec=discord.RawBulkMessageDeleteEvent, message_ids=set(message_ids), cached_messages=[])


async def test_a_question_deleted_soon_after_takes_its_reply_with_it(service: KnowledgeService) -> None:
    cog, message, reply = await answered_mention(service)
    await cog.on_raw_message_delete(deletion(message.id + 100))  # somebody else's message
    reply.delete.assert_not_awaited()

    await cog.on_raw_message_delete(deletion(message.id))
    cog.bot.get_partial_messageable.assert_called_once_with(message.channel.id)
    cog.bot.get_partial_messageable.return_value.get_partial_message.assert_called_once_with(reply.id)
    reply.delete.assert_awaited_once()
    await cog.on_raw_message_delete(deletion(message.id))  # Discord's event again: nothing left to delete
    reply.delete.assert_awaited_once()

    cog, message, reply = await answered_mention(service)
    reply.delete.side_effect = discord.NotFound(MagicMock(status=404), "Unknown Message")
    await cog.on_raw_bulk_message_delete(deletion(message.id, reply.id))  # a purge took the reply too
    reply.delete.assert_awaited_once()


async def test_an_edit_that_no_longer_asks_takes_the_answer_back(service: KnowledgeService) -> None:
    """The reply shows what the message, as last edited, gets: nothing, so the answer goes."""
    for now_says, answer_goes in (("what is scope creep?", True),  # the mention taken out, in #general
                                  (f"<@{BOT_ID}>", True),  # the question taken out
                                  (f"<@{BOT_ID}> what is scope creep??", False)):  # the same answer: it stays
        cog, message, reply = await answered_mention(service)
        message.content, message.edited_at = now_says, discord.utils.utcnow()
        message.created_at = discord.utils.utcnow() - timedelta(minutes=1)
        earlier = replying_to(bot_message(answer_reply(service.kb, service.kb.intents["scope-creep"])), message)
        earlier.reference.message_id, earlier.embeds = message.id, [message.channel.send.await_args.kwargs["embed"]]

        async def history(**_: Any) -> Any:
            yield earlier

        message.channel.history = MagicMock(side_effect=history)
        await cog.on_raw_message_edit(MagicMock(spec=discord.RawMessageUpdateEvent, message=message, cached_message=None))
        assert reply.delete.await_count == answer_goes, now_says
        message.channel.send.assert_awaited_once()  # the first answer, and nothing since
        assert message.channel.history.called != answer_goes, "no reply to send: the history is not read"


async def test_a_question_deleted_while_its_answer_is_on_its_way_takes_it_once_sent(service: KnowledgeService) -> None:
    """A moderation bot deletes spam within moments: the deletion can reach pmbot before its reply has left."""
    answers = RecentAnswers(REVISION_WINDOW)
    bot = make_bot(service)
    bot.get_partial_messageable.return_value = MagicMock(spec=discord.PartialMessageable)
    reply = bot.get_partial_messageable.return_value.get_partial_message.return_value = MagicMock(spec=discord.PartialMessage)
    cog = Questions(bot)
    cog.answers = answers
    message = mock_message(f"<@{BOT_ID}> what is scope creep?")

    async def sent_as_the_question_goes(**_: Any) -> MagicMock:
        await cog.on_raw_message_delete(deletion(message.id))
        return reply

    message.channel.send = AsyncMock(side_effect=sent_as_the_question_goes)
    await cog.on_message(message)
    reply.delete.assert_awaited_once()

    later_reply = AsyncMock()
    await answers.take_back({77})  # an edit into no question, before any answer: the message is still there
    await answers.remember(77, later_reply)  # edited back into a question, and answered
    later_reply.assert_not_awaited()
    await answers.take_back({77}, deleted=True)
    later_reply.assert_awaited_once()


async def test_a_question_deleted_later_leaves_its_answer(service: KnowledgeService) -> None:
    clock = FakeClock()
    cog, message, reply = await answered_mention(service, RecentAnswers(REVISION_WINDOW, clock=clock))
    clock.now += REVISION_WINDOW.total_seconds() + 1
    await cog.on_raw_message_delete(deletion(message.id))
    reply.delete.assert_not_awaited()


async def test_a_message_deleted_after_ask_pmbot_answered_it_takes_that_answer_with_it(service: KnowledgeService) -> None:
    bot = make_bot(service)
    cog = Questions(bot)
    asked, chat = mock_message("what is scope creep?"), mock_message("lunch at noon?")
    answered, missed = mock_interaction(mock_member(9), client=bot), mock_interaction(mock_member(9), client=bot)
    await cog._ask_menu.callback(answered, asked)
    await cog._ask_menu.callback(missed, chat)  # only the asker saw that one
    await cog.on_raw_bulk_message_delete(deletion(asked.id, chat.id))
    answered.delete_original_response.assert_awaited_once()
    missed.delete_original_response.assert_not_awaited()


async def test_an_edit_that_is_now_answered_takes_the_question_out_of_the_gaps(service: KnowledgeService) -> None:
    payload, reply = edited(f"<@{BOT_ID}> what is scope creep?", "mvp", service)
    bot = make_bot(service)
    bot.forget_questions = AsyncMock()
    await Questions(bot).on_raw_message_edit(payload)
    bot.forget_questions.assert_awaited_once_with({payload.message.id})

    bot = make_bot(service)
    bot.forget_questions = AsyncMock()
    payload, reply = edited(f"<@{BOT_ID}> what is a good pizza topping?", None, service)
    await Questions(bot).on_raw_message_edit(payload)  # still a fallback: its row is replaced, not forgotten
    bot.forget_questions.assert_not_awaited()
    assert bot.record_unanswered.await_args.kwargs["message_id"] == payload.message.id


async def test_bare_mention_gets_help(service: KnowledgeService) -> None:
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}>")
    await Questions(bot).on_message(message)
    assert sent_embed(message.channel).title == "How to use pmbot"


async def test_help_channel_is_silent_on_fallback_and_not_logged(service: KnowledgeService) -> None:
    bot = make_bot(service)
    message = mock_message("what's the weather like in Lisbon today?", channel=mock_text_channel(HELP_CHANNEL_ID))
    assert service.ask(message.content).result.kind == "fallback"
    await Questions(bot).on_message(message)
    message.channel.send.assert_not_awaited()
    bot.record_unanswered.assert_not_awaited()
    assert bot.cooldowns.for_guild(GUILD_ID).retry_after(message.author.id) == 0  # a silent miss does not use up the asker's quota


async def test_small_talk_is_answered_only_when_addressed(service: KnowledgeService) -> None:
    for text in ("hi all, how are you?", "thanks! that fixed it"):
        assert service.ask(text).result.intent_id in {"greeting", "thanks"}
        in_help = mock_message(text, channel=mock_text_channel(HELP_CHANNEL_ID))
        await Questions(make_bot(service)).on_message(in_help)
        in_help.channel.send.assert_not_awaited()
        addressed = mock_message(f"<@{BOT_ID}> {text}")
        await Questions(make_bot(service)).on_message(addressed)
        assert sent_embed(addressed.channel).title == service.kb.intents[service.ask(text).result.intent_id].title


async def test_direct_fallback_is_answered_and_logged(service: KnowledgeService) -> None:
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> best pizza topping?")
    await Questions(bot).on_message(message)
    assert sent_embed(message.channel).title == "Sorry, I don't know that one"
    bot.record_unanswered.assert_awaited_once()
    result = bot.record_unanswered.await_args.args[0]
    assert result.kind == "fallback"
    assert bot.record_unanswered.await_args.kwargs == {
        "guild_id": GUILD_ID, "channel_id": GENERAL_ID, "user_id": message.author.id, "message_id": message.id,
    }


async def test_cooldown_answers_up_to_the_rate_then_one_notice(service: KnowledgeService) -> None:
    bot = make_bot(service, cooldown_rate=3, cooldown_seconds=30.0)
    cog = Questions(bot)
    author = mock_member(7)
    channel = mock_text_channel()
    for _ in range(10):
        await cog.on_message(mock_message(f"<@{BOT_ID}> What is project management?", author=author, channel=channel))
    calls = channel.send.await_args_list
    assert [("embed" in c.kwargs) for c in calls] == [True, True, True, False]
    assert "Ask again in about 30 seconds" in calls[3].kwargs["content"]
    assert calls[3].kwargs["allowed_mentions"].to_dict() == {"parse": []}
    # others are not affected, and after the window the user is answered again
    other = mock_message(f"<@{BOT_ID}> What is project management?", channel=channel)
    await cog.on_message(other)
    assert len(channel.send.await_args_list) == 5
    bot.clock.now += 31
    await cog.on_message(mock_message(f"<@{BOT_ID}> What is project management?", author=author, channel=channel))
    assert "embed" in channel.send.await_args_list[-1].kwargs


@pytest.mark.parametrize("refusal", [
    discord.Forbidden(MagicMock(status=403, reason="Forbidden"), {"code": 50013, "message": "Missing Permissions"}),
    discord.HTTPException(MagicMock(status=400, reason="Bad Request"),
                          {"code": 200000, "message": "Message was blocked by automatic moderation"}),
])
async def test_a_reply_discord_refuses_does_not_raise_nor_count_a_reply(
        service: KnowledgeService, refusal: discord.HTTPException) -> None:
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> What is project management?")
    message.channel.send.side_effect = refusal
    await Questions(bot).on_message(message)  # logged, not raised, so no apology is tried either
    message.channel.send.assert_awaited_once()
    store = MagicMock(spec=Store)
    await bot.tally.flush(store)
    assert store.add_reply_counts.await_args.args[0] == [], "no reply went out: /kb stats counts none"
    assert b'pmbot_replies_total{kind="answer"} 0.0' in bot.metrics.render()


@pytest.mark.parametrize(
    "content",
    [
        "",
        "   ",
        "😀" * 500,
        "**bold** __under__ `code` ```block``` ||spoiler|| > quote",
        "x" * 4000,
        "what is " + "a " * 3000,
        f"<@{BOT_ID}> " * 20,
        "@everyone @here <@&1> <#2> <:e:3>",
        "\u200b\u200b\u200b",
    ],
)
async def test_awkward_messages_never_crash(service: KnowledgeService, content: str) -> None:
    bot = make_bot(service)
    message = mock_message(f"<@{BOT_ID}> {content}")
    await Questions(bot).on_message(message)
    message.channel.send.assert_awaited_once()
    embed = sent_embed(message.channel)
    assert 0 < len(embed.title or "") <= 256 and len(embed.description or "") <= 4096


# -- slash commands ----------------------------------------------------------------------------


async def test_ask_answers_publicly_and_keeps_guesses_private(service: KnowledgeService) -> None:
    bot = make_bot(service)
    cog = Questions(bot)
    interaction = mock_interaction(client=bot)
    await cog.ask.callback(cog, interaction, "What is project management?")
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is False and kwargs["embed"].title == "What is project management?"

    interaction = mock_interaction(mock_member(8), client=bot)
    await cog.ask.callback(cog, interaction, "best pizza topping")
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    bot.record_unanswered.assert_awaited_once()


async def test_a_note_on_an_answer_the_knowledge_lost_is_listed_as_shown_nowhere(service: KnowledgeService) -> None:
    bot = make_bot(service)
    await bot.guild_settings.update(GUILD_ID, lambda own: dataclasses.replace(
        own, answer_notes=(("retired-intent", "Old reading list"), ("mvp", "Our MVP guide: #resources"))))
    interaction = mock_interaction(client=bot)
    interaction.guild = MagicMock(spec=discord.Guild, id=GUILD_ID)
    cog = ServerConfig(bot)
    await cog.answer_notes_show.callback(cog, interaction)
    listed = interaction.response.send_message.await_args.kwargs["content"]
    assert "Under `retired-intent` (no longer in the knowledge, so shown nowhere):\nOld reading list" in listed
    assert f"Under “{service.kb.intents['mvp'].title}” (`mvp`):\nOur MVP guide: #resources" in listed


async def test_every_command_that_answers_takes_a_turn_of_the_shared_cooldown(service: KnowledgeService) -> None:
    """/ask, Apps → Ask pmbot, /role, /compare and /topics each count as a question, checked before they run: the
    sixth of them in a row, whichever they are, is held."""
    bot = make_bot(service, cooldown_rate=5)
    questions, roles = Questions(bot), Roles(bot)
    answering = [questions.ask, questions._ask_menu, roles.role, roles.compare, roles.topics]
    for command in answering:
        assert all([await discord.utils.maybe_coroutine(check, mock_interaction(mock_member(9), client=bot))
                    for check in command.checks])
    for command in answering:
        with pytest.raises(CooldownActive):
            for check in command.checks:
                await discord.utils.maybe_coroutine(check, mock_interaction(mock_member(9), client=bot))
    assert all([await discord.utils.maybe_coroutine(check, mock_interaction(mock_member(10), client=bot))
                for check in questions.ask.checks]), "another member asks as before"


async def test_ask_pmbot_on_a_message_answers_its_question(service: KnowledgeService) -> None:
    """Apps → Ask pmbot: a member's question answered for the channel, a miss or an empty message for the asker."""
    bot = make_bot(service)
    cog = Questions(bot)
    story = "We just reorganised and my manager keeps saying our team will change a lot this year. " * 8
    asked = mock_message(f"{story}\nAnyway: how much do  product managers\nearn?", author=mock_member(1002))
    assert len(asked.content) > MAX_INPUT_CHARS, "the question after /ask's limit is read too"
    interaction = mock_interaction(mock_member(9), client=bot)
    await cog._ask_menu.callback(interaction, asked)
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is False and kwargs["embed"].title == service.kb.intents["product-manager-salary"].title

    interaction = mock_interaction(mock_member(9), client=bot)
    lunch = mock_message("lunch at noon?", author=mock_member(1002))
    await cog._ask_menu.callback(interaction, lunch)
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    bot.record_unanswered.assert_awaited_once()
    assert bot.record_unanswered.await_args.kwargs["message_id"] == lunch.id, "gone from the gaps when it is deleted"

    interaction = mock_interaction(mock_member(9), client=bot)
    await cog._ask_menu.callback(interaction, bot_message(answer_reply(service.kb, service.kb.intents["mvp"])))
    assert interaction.response.send_message.await_args.args == (NO_TEXT,), "an embed, an image: no text to read"


async def test_ask_autocomplete_stays_within_limits(service: KnowledgeService) -> None:
    bot = make_bot(service)
    cog = Questions(bot)
    interaction = mock_interaction(client=bot)
    for typed in ("", "p", "prodct mangr skils", "x" * 5000, "😀", "scrum"):
        choices = await cog.ask_autocomplete(interaction, typed)
        assert len(choices) <= 25
        assert all(isinstance(c, app_commands.Choice) and 0 < len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
    skills = await cog.ask_autocomplete(interaction, "product manager skils")
    assert skills[0].name == service.kb.intents["product-manager-skills"].title


async def test_no_two_commands_share_a_name_and_all_fit_discords_rules(service: KnowledgeService) -> None:
    bot = PMBot(Settings(), service)
    await bot._async_setup_hook()
    await bot.setup_hook()  # no dev guild configured: loads the cogs, syncs nothing
    try:
        top = [c.name for c in bot.tree.get_commands()]
        assert len(top) == len(set(top))
        assert set(top) == {"ask", "help", "role", "compare", "topics", "kb", "config", "privacy", "Ask pmbot"}
        assert bot.tree.get_command("Ask pmbot", type=discord.AppCommandType.message) is not None
        for command in bot.tree.walk_commands():
            assert 1 <= len(command.description) <= 100, command.qualified_name
        kb = bot.tree.get_command("kb")
        payload = kb.to_dict(bot.tree)
        assert payload["default_member_permissions"] == 1 << 5 and payload["dm_permission"] is False
        assert type(kb).__name__ == ModeratorGroup.__name__  # load_extension imports the cog module afresh
        assert {cls.__name__ for cls in bot._connection._view_store._dynamic_items.values()} == {
            "AskButton", "VoteButton", "TopicsSelect", "TeachPicker", "ProposePicker", "DismissPicker", "ProposalsPicker",
        }
    finally:
        await bot.close()


# -- moderation ---------------------------------------------------------------------------------


async def test_the_kb_group_check_refuses_with_a_message(service: KnowledgeService) -> None:
    bot = make_bot(service)
    group = Moderation.kb
    assert await group.interaction_check(mock_interaction(mock_member(role_ids=(MOD_ROLE_ID,)), client=bot))
    with pytest.raises(NotModerator, match="Only this server's moderators can use /kb"):
        await group.interaction_check(mock_interaction(mock_member(), client=bot))
    refused = mock_interaction(client=bot)
    await on_interaction_error(refused, NotModerator(moderator_refusal("kb")))
    refused.response.send_message.assert_awaited_once()
    assert refused.response.send_message.await_args.kwargs["ephemeral"] is True


async def test_kb_reload_swaps_or_reports_problems(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, folder)
    live = warm_service(folder)
    bot = make_bot(live)
    cog = Moderation(bot)
    before = live.kb

    (folder / "broken.yaml").write_text("intents:\n  - id: [oops\n")
    interaction = mock_interaction(mock_member(manage_guild=True), client=bot)
    await cog.reload.callback(cog, interaction)
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    failed = interaction.followup.send.await_args.kwargs["embed"]
    assert failed.title == "Reload failed"
    assert "```\nbroken.yaml:3: YAML syntax error" in failed.description
    assert live.kb is before, "the old knowledge keeps serving"

    (folder / "broken.yaml").unlink()
    interaction = mock_interaction(mock_member(manage_guild=True), client=bot)
    await cog.reload.callback(cog, interaction)
    done = interaction.followup.send.await_args.kwargs["embed"]
    assert done.title == "Knowledge reloaded" and done.description.startswith("No intents changed.")
    assert live.kb is before, "files that hold what is served are not rebuilt"


def test_problems_block_fits_and_stays_a_code_block() -> None:
    problems = [Problem(f"/srv/kb/file{n}.yaml", n, "x" * 200 + " ```fence```") for n in range(100)]
    block = problems_block(problems, 1000, Path("/srv/kb"))
    assert len(block) <= 1000
    assert block.startswith("```\nfile0.yaml:0: ") and block.count("```") == 2
    assert block.endswith("more (run `python -m bot validate` for all).")


async def test_a_weekly_digest_discord_refused_goes_out_at_the_next_check(service: KnowledgeService, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from bot.discord.digest import Outcome, send_if_due
    from bot.store import SqliteStore, UnansweredQuestion

    bot = make_bot(service, weekly_digest=True, mod_log_channel_id=GENERAL_ID)
    log_channel = MagicMock(spec=discord.abc.Messageable)
    unavailable = MagicMock(status=503, reason="Service Unavailable")
    log_channel.send = AsyncMock(side_effect=[discord.HTTPException(unavailable, "try later"), MagicMock()])
    guild = mock_guild()
    guild.get_channel_or_thread.side_effect = lambda i: log_channel if i == GENERAL_ID else None
    async with SqliteStore(tmp_path / "pmbot.db") as store:
        bot.store = store
        bot.guild_settings = GuildSettingsCache(store, bot.settings)
        await store.record_unanswered(UnansweredQuestion(
            asked_at=datetime.now(timezone.utc), guild_id=GUILD_ID, channel_id=GENERAL_ID,
            text="which marmalade suits a rainy picnic", kind="fallback", best_intent=None, score=3.0,
        ))
        assert await send_if_due(bot, guild) is Outcome.UNPOSTABLE
        assert await send_if_due(bot, guild) is Outcome.SENT, "the refused week was given back"
        assert "which marmalade suits a rainy picnic" in str(log_channel.send.await_args.kwargs["embed"].to_dict())
        assert await send_if_due(bot, guild) is Outcome.NOT_DUE, "and it counts as the week's"
        assert log_channel.send.await_count == 2


# -- errors ---------------------------------------------------------------------------------------


async def test_unexpected_errors_are_logged_and_the_user_is_told(caplog: pytest.LogCaptureFixture) -> None:
    interaction = mock_interaction()

    async def boom(_: discord.Interaction) -> None:
        raise RuntimeError("kaput")

    await guarded(interaction, boom)
    interaction.response.send_message.assert_awaited_once()
    call = interaction.response.send_message.await_args
    assert call.args == (SORRY,) and call.kwargs["ephemeral"] is True
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert "interaction failed" in caplog.text and "kaput" in caplog.text

    done = mock_interaction()
    done.response.is_done.return_value = True
    await on_interaction_error(done, app_commands.CommandInvokeError(MagicMock(), RuntimeError("late")))
    done.followup.send.assert_awaited_once()


async def test_event_errors_log_context_and_reply_briefly(caplog: pytest.LogCaptureFixture) -> None:
    message = mock_message("what is a PM?")
    try:
        raise ValueError("bad")
    except ValueError:
        await on_event_error("on_message", message)
    assert f"message {message.id}" in caplog.text and "ValueError" in caplog.text
    message.channel.send.assert_awaited_once()
    assert message.channel.send.await_args.kwargs["content"] == SORRY and "reference" in message.channel.send.await_args.kwargs


async def test_an_event_error_is_told_only_where_discord_would_take_it(caplog: pytest.LogCaptureFixture) -> None:
    """Without Send Messages the telling would be refused, and counted against the bot; without Read Message History
    Discord refuses a reply, so the asker is named instead."""
    for allowed, expected in ((discord.Permissions(view_channel=True), None),
                              (discord.Permissions(view_channel=True, send_messages=True), "named")):
        message = mock_message("what is a PM?")
        message.channel.permissions_for.return_value = allowed
        message.author.mention = "<@5>"
        try:
            raise ValueError("bad")
        except ValueError:
            await on_event_error("on_message", message)
        if expected is None:
            message.channel.send.assert_not_awaited()
        else:
            sent = message.channel.send.await_args.kwargs
            assert sent["content"] == f"<@5> {SORRY}" and "reference" not in sent


# -- components ----------------------------------------------------------------------------------


async def test_vote_button_records_and_thanks(service: KnowledgeService) -> None:
    bot = make_bot(service)
    bot.store = MagicMock()
    bot.store.record_vote = AsyncMock()
    interaction = mock_interaction(mock_member(5), client=bot)
    interaction.message = MagicMock(spec=discord.Message)
    interaction.message.id = 99
    await VoteButton(-1, "key-differences").callback(interaction)
    bot.store.record_vote.assert_awaited_once_with(99, 5, "key-differences", -1, guild_id=interaction.guild_id)
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


async def test_ask_button_answers_and_handles_removed_intents(service: KnowledgeService) -> None:
    bot = make_bot(service)
    interaction = mock_interaction(client=bot)
    await AskButton("key-differences", "Key differences").callback(interaction)
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["embed"].title == service.kb.intents["key-differences"].title and kwargs["ephemeral"] is False
    gone = mock_interaction(client=bot)
    await AskButton("no-such-thing", "Old").callback(gone)
    assert "/topics" in gone.response.send_message.await_args.args[0]


async def test_topics_select_shows_one_category_privately(service: KnowledgeService) -> None:
    bot = make_bot(service)
    select = TopicsSelect.for_knowledge(service.kb)
    assert select is not None and len(select.item.options) <= 25
    select.item._values = ["careers"]  # what discord.py sets from the interaction data
    interaction = mock_interaction(client=bot)
    interaction.data = {"custom_id": "pmbot:topics", "values": ["careers"]}
    await select.callback(interaction)
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["embed"].title == service.kb.categories["careers"].title
