"""Reading what a message asks in its conversation: a bare role typed after an answer, and a mention under
someone's question. Kept apart from the Questions cog, which decides whether and how to reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.discord.listening import Heard, answered, heard_question, said
from bot.discord.permissions import may_read_history
from bot.discord.render import answered_intent, quoted_question
from bot.knowledge import KnowledgeBase
from bot.matching import MatchResult
from bot.matching.follow_up import named_role
from bot.service import Answer, KnowledgeService

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.questions")

# A bare "and for project managers?" follows the asker's latest answer among this many messages, this recent.
FOLLOW_UP_LOOKBACK = 10
FOLLOW_UP_WINDOW = timedelta(minutes=15)


async def ask(
    bot: PMBot, question: str, channel: object, asker: discord.abc.User, asked: discord.abc.Snowflake
) -> Answer:
    """The answer to a question, read as a follow-up to the asker's latest answer here when it only names a role.

    For a bare "and for project managers?" typed after an answer rather than as a reply to it, as people do
    in DMs and with /ask. The answer is read from the channel's history, not kept in memory: it is one
    request for such a rare message, and it holds across restarts and shards. Without Read Message History
    the question is read alone.
    """
    answer = bot.service.ask(question)
    if answer.result.kind == "answer" or not named_role(bot.service.matcher, question):
        return answer
    follows = await _last_answer(bot, channel, asker, asked)
    return answer if follows is None else bot.service.ask_after(answer, follows)


async def heard_answer(bot: PMBot, heard: Heard, message: discord.Message) -> Answer | None:
    """The answer to what was heard; None for a bare mention that replies to no question the bot answers."""
    answer = None
    if heard.text and heard.follows is not None:
        answer = bot.service.ask(heard.text, heard.follows)
    elif heard.text:
        answer = await ask(bot, heard.text, message.channel, message.author, message)
    if heard.quoted is not None and (quoted := _quoted_answer(bot.service, heard.quoted, answer)) is not None:
        return quoted
    return answer


def _quoted_answer(service: KnowledgeService, quoted: str, own: Answer | None) -> Answer | None:
    """The answer to the member's message a mention replies to; None when the mention's own words ask
    something of ours (answered, or offered a topic) or that message is not answered.

    "@pmbot ^" or "@pmbot can you answer this?" (the bot's own help, read alone) under someone's question
    asks the bot to answer it. A bare role ("@pmbot and for project managers?") asks the quoted question of
    that role, or keeps its own reading when the topic has no twin.
    """
    bare_role = (own is not None and own.result.kind != "answer"
                 and named_role(service.matcher, own.result.question) is not None)
    if own is not None and not bare_role and _asks_of_its_own(service.kb, own.result):
        return None
    theirs = service.ask(quoted)
    if theirs.result.kind != "answer" or theirs.result.intent_id is None:
        return None
    return service.ask_after(own, theirs.result.intent_id) if own is not None and bare_role else theirs


async def _last_answer(bot: PMBot, channel: object, asker: discord.abc.User, asked: discord.abc.Snowflake) -> str | None:
    """The intent of the bot's latest answer to the asker in the channel, a few minutes before `asked` at most."""
    me = bot.user
    if me is None or not isinstance(channel, discord.abc.Messageable) or not may_read_history(channel):
        return None
    since = discord.utils.snowflake_time(asked.id) - FOLLOW_UP_WINDOW
    try:
        async for earlier in channel.history(limit=FOLLOW_UP_LOOKBACK, before=asked):
            if earlier.created_at < since:
                break
            if (intent := answered(earlier, me, asker)) is not None:
                return intent
    except discord.HTTPException as error:
        log.info("could not read channel %s's history for a follow-up: %s", getattr(channel, "id", None), error)
    return None


@dataclass(frozen=True, slots=True)
class Recalled:
    """An answered question read again (:func:`read_again`), with what pmbot makes of it now."""

    now: Answer
    asker: int
    guild_id: int | None
    channel_id: int
    message_id: int | None  # None: an /ask question, which has no message
    asked_at: datetime


async def read_again(bot: PMBot, answer: discord.Message) -> Recalled | None:
    """The question the bot's answer answers, what pmbot makes of it now, and who asked (its author, or who ran
    /ask or Apps → Ask pmbot): for a 👎 on an answer that this process gave before a restart, whose question it no
    longer holds in memory. None when the question cannot be read (deleted; no Read Message History; an /ask answer
    to a topic picked from its list, which quotes none) or is no longer answered with the answer's intent: the
    knowledge changed since, so the answer voted on is not the one pmbot gives now."""
    me, meta = bot.user, answer.interaction_metadata
    if me is None:
        return None
    if meta is not None and meta.target_message_id is None:  # /ask's answer, under its quoted question
        if (quoted := quoted_question(answer)) is None:
            return None
        now: Answer | None = bot.service.ask(quoted)
        asker, where, message_id, asked_at = meta.user.id, answer, None, meta.created_at
    else:
        if (question := await _answered_message(answer)) is None:
            return None
        if meta is not None:  # Apps → Ask pmbot reads the message whole, as it was asked
            now = bot.service.ask(said(question))
        else:
            here = bot.guild_settings.effective(question.guild.id if question.guild else None)
            heard = heard_question(question, me, here.help_channels)
            now = None if heard is None else await heard_answer(bot, heard, question)
        asker = meta.user.id if meta is not None else question.author.id
        where, message_id, asked_at = question, question.id, question.created_at
    if now is None or now.result.kind != "answer" or now.result.intent_id != answered_intent(answer):
        return None
    return Recalled(now, asker, where.guild.id if where.guild else None, where.channel.id, message_id, asked_at)


async def _answered_message(answer: discord.Message) -> discord.Message | None:
    """The message an answer replies to, or whose thread it opens (a help channel's threads setting), or that Apps →
    Ask pmbot was run on. Discord sends the replied-to message with the answer, mostly; else it is asked for, where
    pmbot may read the history."""
    reference, meta = answer.reference, answer.interaction_metadata
    if reference is not None and reference.message_id is not None:
        if reference.resolved is not None:  # sent with the answer, or known to be deleted
            return reference.resolved if isinstance(reference.resolved, discord.Message) else None
        channel, message_id = answer.channel, reference.message_id
    elif meta is not None and meta.target_message_id is not None:
        channel, message_id = answer.channel, meta.target_message_id
    elif isinstance(answer.channel, discord.Thread) and meta is None and isinstance(
            answer.channel.parent, discord.TextChannel):
        channel, message_id = answer.channel.parent, answer.channel.id  # a thread takes its first message's id
    else:
        return None
    if not may_read_history(channel):
        return None
    try:
        return await channel.fetch_message(message_id)
    except discord.HTTPException as error:
        log.info("could not read the question of answer %s: %s", answer.id, error)
        return None


def _asks_of_its_own(kb: KnowledgeBase, result: MatchResult) -> bool:
    """Whether a message answered or offered one of our topics asks it: help, a greeting or thanks do not."""
    first = result.intent_id or next(iter(result.suggestions), None)
    return first in kb.intents and kb.intents[first].category != "meta"
