"""Questions: answering messages (DMs, mentions, help channels, and questions edited or deleted soon after), /ask,
Apps → Ask pmbot and /help.

The listening rules live in bot.discord.listening and bot.help_channels, reading a question in its
conversation in bot.discord.reading, the follow-up, suggestion and vote buttons in bot.discord.render.
This cog decides what to say and
keeps the flood in check: a per-user cooldown shared with /ask and the ask
buttons, with one friendly notice per burst for messages.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.discord import reading
from bot.discord.checks import asks_a_question
from bot.discord.errors import tell
from bot.discord.listening import heard_question, said
from bot.discord.permissions import addressed, may_read_history, missing_to_answer, missing_to_post
from bot.discord.reading import FOLLOW_UP_LOOKBACK
from bot.discord.recent_answers import RecentAnswers, take_back_in_thread
from bot.discord.render import NO_PINGS, fitted, in_server, message_kwargs, quoting, send_reply
from bot.help_channels import replies_unasked
from bot.matching.normalise import MAX_INPUT_CHARS
from bot.replies import answer_reply, help_reply
from bot.service import Answer

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.questions")

ASK_MENU = "Ask pmbot"  # a message's Apps menu
NO_TEXT = "That message has no text I can read. Ask its question with `/ask` instead."
# A question edited this soon after it was asked is answered again, and one deleted this soon after the bot
# answered takes the answer with it: typos are fixed and regretted questions taken back within minutes, and an edit
# hours later answered anew would only surprise the channel. Also how long Discord lets an interaction's response
# be deleted.
REVISION_WINDOW = timedelta(minutes=15)
THREAD_NAME = 100  # Discord's longest thread name


def cooldown_notice(retry_after: float) -> str:
    return (
        "You're asking faster than I can keep up with, so I'll take a short break from your questions. "
        f"Ask again in about {max(1, math.ceil(retry_after))} seconds. 🙂"
    )


class Questions(commands.Cog):
    def __init__(self, bot: PMBot) -> None:
        self.bot = bot
        self._reanswering: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.answers = RecentAnswers(REVISION_WINDOW)
        # A context menu cannot be declared in a cog as slash commands are; it is added to the tree with the cog.
        self._ask_menu = app_commands.ContextMenu(name=ASK_MENU, callback=self.ask_about_message)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._ask_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._ask_menu.name, type=self._ask_menu.type)

    # -- messages --------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self._respond(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A question edited soon after it was asked (a typo fixed, a word added) is answered again: the bot's
        reply is edited to the new answer, or sent when there was none (a help channel's message that only now
        asks). Raw, so that a question asked before a restart counts too.
        """
        message, before = payload.message, payload.cached_message
        if message.edited_at is None or (before is not None and before.content == message.content):
            return  # a link's preview unfurling updates a message too
        if discord.utils.utcnow() - message.created_at > REVISION_WINDOW:
            return
        # Two edits of one message in quick succession would both find no reply yet and both send one: the later
        # waits for the earlier (a server's events all reach one process), then finds its reply. Weak values: a
        # lock lasts as long as someone holds it.
        if (lock := self._reanswering.get(message.id)) is None:
            lock = self._reanswering[message.id] = asyncio.Lock()
        async with lock:
            await self._respond(message, edited=True)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A question deleted soon after the bot answered it (regretted, or spam a moderation bot removed), or while
        the answer was on its way, takes the answer with it, rather than leave an answer to nothing in the channel: a
        reply, or Ask pmbot's response."""
        await self.answers.take_back({payload.message_id}, deleted=True)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.answers.take_back(payload.message_ids, deleted=True)

    async def _respond(self, message: discord.Message, *, edited: bool = False) -> None:
        """Replies to a message that asks the bot something; `edited`: replaces the bot's earlier reply to it, or
        deletes it when the message, as edited, gets no reply."""
        started = time.perf_counter()
        me = self.bot.user
        if me is None:
            return
        guild_id = message.guild.id if message.guild else None
        here = self.bot.guild_settings.effective(guild_id)
        heard = heard_question(message, me, here.help_channels)
        answer = None if heard is None else await reading.heard_answer(self.bot, heard, message)
        if heard is not None and answer is None and not edited:  # a bare mention
            if await self._allowed(message):
                await self._reply(message, message_kwargs(help_reply(self.bot.service.kb)))
            return
        # Said to the room, not to pmbot: no fallback there, no reply to a hello or thank-you alone, and no
        # "Did you mean…" where the server turned those off.
        if heard is None or answer is None or (
            not heard.direct and not replies_unasked(answer.result, suggestions=here.help_channel_suggestions)
        ):
            if edited:  # the message no longer asks anything pmbot replies to: its answer to what it asked goes
                await self.answers.take_back({message.id})
            return
        result = answer.result
        earlier = None
        if edited:  # the history is read only for an edit that gets a reply
            if not may_read_history(message.channel):  # Discord would return none: no reply yet, it would seem
                log.info("not answering edited message %s again: pmbot lacks Read Message History in channel %s",
                         message.id, message.channel.id)
                return
            try:
                earlier = await self._our_reply(message, me)
            except discord.HTTPException as error:  # not knowing the first reply, a second could repeat it
                log.info("not answering edited message %s again: cannot read the history: %s", message.id, error)
                return
        kwargs = message_kwargs(in_server(self.bot, answer.reply, guild_id))
        if earlier is not None:
            kwargs = fitted(kwargs, earlier.channel)  # as the reply's channel shows it, once for the check and the edit
            if _shows(earlier, kwargs):
                return  # the edit changed nothing the reply says
        if not await self._allowed(message):
            return
        log.debug("%s %s (%.0f) for message %s (%s%s)", result.kind, result.intent_id or "-", result.score, message.id,
                  heard.mode, ", edited" if edited else "")
        if earlier is None:
            threaded = here.help_channel_threads and isinstance(message.channel, discord.TextChannel) and (
                message.channel.id in here.help_channels)
            sent = await self._reply(message, kwargs, thread_name=answer.reply.title if threaded else None)
        else:
            sent = earlier
            await self._edit(earlier, kwargs)
        if edited and result.kind == "answer":
            await self.bot.forget_questions({message.id})  # its first reading may be in the gaps list
        await self._record(answer, started, guild_id, message.channel.id, message.author.id, message.id,
                           sent.id if sent else None, edited=edited)

    async def _our_reply(self, message: discord.Message, me: discord.abc.User) -> discord.Message | None:
        """The bot's reply to the message, among the few messages after it: read from the channel, not kept in
        memory, so that any shard finds it after any restart, and only for an edited question. In the thread
        started on the message, when it has one, the bot's first message there."""
        if message.guild is not None and (thread := message.guild.get_thread(message.id)) is not None:
            async for later in thread.history(limit=FOLLOW_UP_LOOKBACK, oldest_first=True):
                if later.author.id == me.id:
                    return later
            return None
        async for later in message.channel.history(limit=FOLLOW_UP_LOOKBACK, after=message, oldest_first=True):
            if later.author.id == me.id and later.reference is not None and later.reference.message_id == message.id:
                return later
        return None

    async def _allowed(self, message: discord.Message) -> bool:
        """Counts the question against the author's cooldown in this server; sends the one notice of a burst."""
        cooldown = self.bot.cooldowns.for_guild(message.guild.id if message.guild else None)
        wait = cooldown.retry_after(message.author.id)
        if not wait:
            return True
        if cooldown.should_notify(message.author.id, wait):
            log.info("cooldown for user %s (%.0fs)", message.author.id, wait)
            await self._reply(message, {"content": cooldown_notice(wait), "allowed_mentions": NO_PINGS})
        return False

    async def _reply(
        self, message: discord.Message, kwargs: dict, *, thread_name: str | None = None
    ) -> discord.Message | None:
        """A reply that pings nobody and survives the question being deleted meanwhile; with ``thread_name``, the
        first message of a thread started on the question (a help channel's setting), or a reply where Discord
        will not start one. None when the bot may not send one there, or Discord refuses it for what it says (a
        server's AutoMod blocking a word: 400, code 200000), where an apology would be refused or confuse."""
        try:
            reply = None if thread_name is None else await self._in_thread(message, thread_name, kwargs)
            if reply is None:
                # A thread needs none of the channel's Send Messages; without Embed Links the answer goes as text.
                if missing := missing_to_post(message.channel):
                    log.warning("no permission to reply in channel %s (guild %s): pmbot lacks %s there",
                                message.channel.id, message.guild.id if message.guild else None, missing)
                    return None
                reply = await message.channel.send(**fitted(addressed(message, kwargs), message.channel))
            # A partial message: the reply itself would hold its embed and buttons in memory for the window.
            partial = self.bot.get_partial_messageable(reply.channel.id).get_partial_message(reply.id)
            if thread_name is not None and isinstance(reply.channel, discord.Thread):  # in the thread it started
                guild, thread_id = reply.channel.guild, reply.channel.id
                await self.answers.remember(message.id, lambda: take_back_in_thread(
                    guild.get_thread(thread_id), partial, lookback=FOLLOW_UP_LOOKBACK))
            else:
                await self.answers.remember(message.id, partial.delete)
            return reply
        except discord.Forbidden:
            log.warning(
                "no permission to reply in channel %s (guild %s); check the bot's View Channel and Send Messages",
                message.channel.id,
                message.guild.id if message.guild else None,
            )
            return None
        except discord.HTTPException as error:  # e.g. the server's AutoMod blocking a word of the answer (200000)
            log.warning("Discord refused the reply to message %s in channel %s: %s", message.id, message.channel.id, error)
            return None

    async def _in_thread(self, message: discord.Message, name: str, kwargs: dict) -> discord.Message | None:
        """The answer, in a thread started on the question and named after the answer, not the question: a thread
        outlives its first message, and a member who deletes a question expects its words gone. None when Discord
        will not start one (no Create Public Threads permission, or a thread on the message already)."""
        if missing := missing_to_answer(message.channel, in_threads=True):
            log.warning("pmbot may not answer in a thread in channel %s: it lacks %s there; replying instead",
                        message.channel.id, missing)
            return None
        try:
            thread = await message.create_thread(name=limits.clip(name, THREAD_NAME))
        except discord.HTTPException as error:
            log.warning("could not start a thread on message %s in channel %s (%s); replying instead: check the "
                        "bot's Create Public Threads permission", message.id, message.channel.id, error)
            return None
        return await thread.send(**fitted(kwargs, thread))

    async def _edit(self, reply: discord.Message, kwargs: dict) -> None:
        """The bot's reply, changed to a new answer (``kwargs`` as its channel shows them: render.fitted); one deleted
        meanwhile is left deleted."""
        try:
            await reply.edit(**{"content": None, **kwargs})  # text, or an embed alone
        except discord.NotFound:
            log.debug("reply %s was deleted before it could be edited", reply.id)
        except discord.Forbidden:
            log.warning("no permission to edit reply %s in channel %s", reply.id, reply.channel.id)
        except discord.HTTPException as error:  # e.g. the server's AutoMod blocking a word of the new answer
            log.warning("Discord refused the edit of reply %s in channel %s: %s", reply.id, reply.channel.id, error)

    async def _record(
        self, answer: Answer, started: float, guild_id: int | None, channel_id: int | None, user_id: int,
        message_id: int | None = None, answer_key: int | None = None, *, edited: bool = False,
        asked_at: datetime | None = None,
    ) -> None:
        """Every reply sent is counted (for the server's /kb stats once per question, not again for its edits); an
        answer's question is kept in memory in case a member votes it 👎 (`answer_key`: see
        answered_questions.answer_key; None: nothing was sent, where pmbot may not post). Suggest and fallback
        readings go to the store, sent or not, for moderators looking for gaps, one row per message (`message_id`:
        the message that asked, None for /ask; `asked_at` when it was asked, if not now: an /ask question, which
        has no message, is known again by it after a restart)."""
        if answer_key is not None:
            self.bot.metrics.replied(answer.result.kind, started)
            if not edited:
                self.bot.tally.count(guild_id, answer.result.kind, answer.result.intent_id)
            self.bot.remember_answer(
                answer_key, answer.result, guild_id=guild_id, channel_id=channel_id, user_id=user_id,
                message_id=message_id, asked_at=asked_at,
            )
        if answer.result.kind == "answer":
            return
        await self.bot.record_unanswered(
            answer.result, guild_id=guild_id, channel_id=channel_id, user_id=user_id, message_id=message_id
        )

    # -- slash commands ----------------------------------------------------------

    @app_commands.command(name="ask", description="Ask about product management vs project management")
    @app_commands.describe(question="Your question, e.g. What does a product manager do?",
                           private="True: only you see the answer (a sure answer is otherwise shown to the channel)")
    @asks_a_question()
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, MAX_INPUT_CHARS],
        private: bool = False,
    ) -> None:
        """`private`: some questions people would rather not ask in front of the channel ("is my PM role even
        real?"); a follow-up to a private answer is then read alone, as the channel's history does not hold it."""
        started = time.perf_counter()
        kb = self.bot.service.kb
        intent_id = self.bot.intent_search().exact(question)
        if intent_id is not None and intent_id in kb.intents:  # picked from autocomplete
            await send_reply(interaction, answer_reply(kb, kb.intents[intent_id]), ephemeral=private)
            self.bot.metrics.replied("answer", started)
            self.bot.tally.count(interaction.guild_id, "answer", intent_id)
            return
        answer = await reading.ask(self.bot, question, interaction.channel, interaction.user, interaction)
        await self._answer_interaction(interaction, answer, started, private=private, lead=quoting(question))

    @asks_a_question()
    async def ask_about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Apps → Ask pmbot on anyone's message: its question answered, as /ask answers.

        The way to answer a question asked where pmbot does not listen, without copying it. Discord sends the
        message with the command, so this works where pmbot may not read messages (no Message Content intent).
        """
        started = time.perf_counter()
        question = said(message)  # read whole, as a message is: its question is often last
        if not question:
            await tell(interaction, NO_TEXT)
            return
        answer = self.bot.service.ask(question)
        await self._answer_interaction(interaction, answer, started, message.id, lead=f"-# Answering {message.jump_url}")
        if answer.result.kind == "answer":  # shown to the channel
            await self.answers.remember(message.id, interaction.delete_original_response)

    async def _answer_interaction(
        self, interaction: discord.Interaction, answer: Answer, started: float, message_id: int | None = None,
        *, private: bool = False, lead: str,
    ) -> None:
        """`lead`: what the answer answers, above it. Discord shows the channel who used the command, not what they
        asked: /ask's question (render.quoting), or a link to the message Apps → Ask pmbot was run on."""
        # Only a confident answer is worth showing the channel; a guess or a miss is for the asker.
        await send_reply(interaction, answer.reply, ephemeral=private or answer.result.kind != "answer", content=lead)
        await self._record(
            answer, started, interaction.guild_id, interaction.channel_id, interaction.user.id, message_id,
            interaction.id, asked_at=interaction.created_at,
        )

    @ask.autocomplete("question")
    async def ask_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        search = self.bot.intent_search()
        titles = search.titles(search.suggest(current))
        return [app_commands.Choice(name=title, value=title) for title in titles]

    @app_commands.command(name="help", description="What pmbot can do and how to ask it")
    async def help(self, interaction: discord.Interaction) -> None:
        await send_reply(interaction, help_reply(self.bot.service.kb), ephemeral=True)


def _shows(reply: discord.Message, kwargs: dict) -> bool:
    """Whether the bot's reply already shows the answer it would be sent as (render.fitted): as text, or an embed."""
    embed = kwargs.get("embed")
    if embed is None:
        return reply.content == kwargs.get("content")
    shown = reply.embeds[0] if reply.embeds else None
    return shown is not None and (shown.title, shown.description) == (embed.title, embed.description)


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Questions(bot))
