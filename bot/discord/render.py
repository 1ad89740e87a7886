"""Reply → Discord embed and persistent components, and what those components do.

Every button and select carries what it needs in its custom_id
("pmbot:ask:<intent>", "pmbot:vote:up:<intent>", "pmbot:topics"), and each is
a ``DynamicItem``: discord.py rebuilds it from the id alone whenever someone
clicks, so buttons keep working after a restart and on messages sent long
ago, and no per-message view is kept in memory (a view with ``timeout=None``
of plain buttons would be stored forever for every answer sent). See
discord.py's examples/views/dynamic_counter.py.

Discord's size limits are applied to the Reply by the core (Reply.fitted);
this module keeps the component side inside Discord's limits: at most 5 rows
of at most 5 buttons, unique custom_ids of at most 100 characters, labels of
at most 80, at most 25 select options.
"""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING, Any, Sequence

import discord

from bot import limits
from bot.discord.errors import guarded
from bot.discord.permissions import may_embed
from bot.knowledge import KnowledgeBase
from bot.replies import Option, Reply, answer_reply, topics_reply, with_server_notes

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.discord")

ASK_PREFIX = "pmbot:ask:"
VOTE_PREFIX = "pmbot:vote:"
TOPICS_ID = "pmbot:topics"
NO_PINGS = discord.AllowedMentions.none()
GONE = "That topic isn't in my knowledge any more. Use /topics to see what I can answer."
THANKS = {1: "Thanks! Glad it helped. 👍", -1: "Thanks for telling me. 👎 The moderators will see that this answer needs work."}


# -- embeds ------------------------------------------------------------------


def to_embed(reply: Reply) -> discord.Embed:
    embed = discord.Embed(title=reply.title, description=reply.body, colour=reply.colour)
    for field in reply.fields:
        embed.add_field(name=field.name, value=field.value, inline=field.inline)
    if reply.footer:
        embed.set_footer(text=reply.footer)
    return embed


# Where the whole of an embed cut short is: an answer in `/ask`'s response, which Discord always lets carry embeds;
# a moderator log post once the moderators who read it give pmbot the permission.
CUT_SHORT = "-# Cut short: I may not post embeds in this channel. `/ask` shows the whole answer."
LOG_CUT_SHORT = "-# Cut short: I may not post embeds in this channel. Give my role Embed Links here to see it all."


def as_text(embed: discord.Embed, limit: int = limits.MESSAGE_CONTENT, cut: str = CUT_SHORT) -> str:
    """The embed as a message's Markdown: title and field names in bold, the footer as subtext. Cut to a message's
    2,000 characters (an embed holds up to 6,000) or ``limit``, ending with ``cut``: that it was, and where it is
    whole."""
    parts = [f"**{embed.title}**" if embed.title else "", embed.description or ""]
    parts += [f"**{field.name}**\n{field.value}" for field in embed.fields]
    text = "\n\n".join(part for part in parts if part)
    footer = f"\n-# {embed.footer.text}" if embed.footer.text else ""
    if len(text) + len(footer) <= limit:
        return text + footer
    return limits.clip(text, limit - len(cut) - 1) + "\n" + cut


def fitted(kwargs: dict[str, Any], channel: discord.abc.Messageable, cut: str = CUT_SHORT) -> dict[str, Any]:
    """A send's or edit's arguments as the channel can show them: the embed as text where pmbot lacks Embed Links,
    after the message's own short text, if any.

    Discord refuses a message of embeds alone there, and servers deny Embed Links to everyone in chat channels to
    keep link previews out: without this, pmbot would say nothing in them. The buttons need no permission and stay.
    """
    embed = kwargs.get("embed")
    if embed is None or may_embed(channel):
        return kwargs
    if lead := kwargs.get("content"):  # the asker named (permissions.addressed), or what a moderator log post says
        return {**kwargs, "embed": None, "content": f"{lead}\n{as_text(embed, limits.MESSAGE_CONTENT - len(lead) - 1, cut)}"}
    return {**kwargs, "embed": None, "content": as_text(embed, cut=cut)}


# -- components ----------------------------------------------------------------


def _bot(interaction: discord.Interaction) -> PMBot:
    return interaction.client  # type: ignore[return-value]


class AskButton(discord.ui.DynamicItem[discord.ui.Button], template=r"pmbot:ask:(?P<intent>[a-z0-9-]+)"):
    """Asks one intent: a follow-up after an answer, a "Did you mean…" choice, a topic's question."""

    def __init__(self, intent_id: str, label: str, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=limits.clip(label or intent_id, limits.BUTTON_LABEL),
                custom_id=f"{ASK_PREFIX}{intent_id}",
                style=discord.ButtonStyle.primary,
            ),
            row=row,
        )
        self.intent_id = intent_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> AskButton:
        return cls(match["intent"], getattr(item, "label", None) or match["intent"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._answer)

    async def _answer(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        kb = bot.service.kb
        intent = kb.intents.get(self.intent_id)
        if intent is None:
            await interaction.response.send_message(GONE, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        bot.cooldowns.take_turn(interaction.guild_id, interaction.user.id)
        await send_reply(interaction, answer_reply(kb, intent))


VOTE_TEMPLATE = re.compile(rf"{VOTE_PREFIX}(?P<vote>up|down):(?P<intent>[a-z0-9-]+)")


_QUOTED = re.compile(r"> (?P<question>[^\n]+)")
_ESCAPED = re.compile(r"\\(.)")


def quoting(question: str) -> str:
    """An `/ask` answer's first line: the question as asked, quoted. The channel sees "… used /ask" and the answer,
    never the question it answers; and after a restart a 👎 on the answer reads its question back from here
    (:func:`quoted_question`), as it does a message's. Escaped, so that it shows as typed."""
    return "> " + discord.utils.escape_markdown(" ".join(question.split()))


def quoted_question(answer: discord.Message) -> str | None:
    """The question an `/ask` answer quotes (:func:`quoting`); None for any other message."""
    found = _QUOTED.fullmatch(answer.content)
    return _ESCAPED.sub(r"\1", found["question"]) if found is not None else None


def answered_intent(message: discord.Message) -> str | None:
    """The intent one of the bot's answers gave, from its 👍/👎 buttons; None for any other message."""
    for row in message.components:
        for item in getattr(row, "children", ()):
            if (found := VOTE_TEMPLATE.fullmatch(getattr(item, "custom_id", None) or "")) is not None:
                return found["intent"]
    return None


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_TEMPLATE):
    """👍 / 👎 under an answer; one vote per user per message (a second click replaces the first)."""

    def __init__(self, vote: int, intent_id: str, *, row: int | None = None) -> None:
        word = "up" if vote > 0 else "down"
        super().__init__(
            discord.ui.Button(
                emoji="👍" if vote > 0 else "👎",
                custom_id=f"{VOTE_PREFIX}{word}:{intent_id}",
                style=discord.ButtonStyle.secondary,
            ),
            row=row,
        )
        self.vote = 1 if vote > 0 else -1
        self.intent_id = intent_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> VoteButton:
        return cls(1 if match["vote"] == "up" else -1, match["intent"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._vote)

    async def _vote(self, interaction: discord.Interaction) -> None:
        store = _bot(interaction).store
        message_id = interaction.message.id if interaction.message else interaction.id
        if store is not None:
            await store.record_vote(
                message_id, interaction.user.id, self.intent_id, self.vote, guild_id=interaction.guild_id
            )
        log.info("vote %+d on %s (message %s)", self.vote, self.intent_id, message_id)
        if interaction.message is not None:
            bot = _bot(interaction)
            await (bot.record_downvote if self.vote < 0 else bot.record_upvote)(interaction.message)
        await interaction.response.send_message(THANKS[self.vote], ephemeral=True, allowed_mentions=NO_PINGS)


class TopicsSelect(discord.ui.DynamicItem[discord.ui.Select], template=TOPICS_ID):
    """The category picker under /topics; a choice lists that category's questions, privately."""

    def __init__(self, options: Sequence[discord.SelectOption], *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=TOPICS_ID,
                placeholder="Choose a topic…",
                options=list(options)[: limits.SELECT_OPTIONS],
                min_values=1,
                max_values=1,
            ),
            row=row,
        )

    @classmethod
    def for_knowledge(cls, kb: KnowledgeBase) -> TopicsSelect | None:
        options = [
            discord.SelectOption(
                label=limits.clip(category.title, limits.SELECT_OPTION_TEXT),
                value=category.id,
                description=limits.clip(_count(len(kb.intents_in(category.id))), limits.SELECT_OPTION_TEXT),
            )
            for category in kb.categories.values()
            if kb.intents_in(category.id)
        ]
        return cls(options) if options else None

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> TopicsSelect:
        return cls(rebuilt_options(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._show)

    async def _show(self, interaction: discord.Interaction) -> None:
        values = picked(self.item, interaction)
        kb = _bot(interaction).service.kb
        category = values[0] if values else None
        await send_reply(interaction, topics_reply(kb, category if category in kb.categories else None), ephemeral=True)


def rebuilt_options(item: discord.ui.Item[Any]) -> list[discord.SelectOption]:
    """The options of a select rebuilt from its custom_id (a DynamicItem after a restart): those of the message's
    select, or a placeholder, since discord.py refuses a select without options."""
    return getattr(item, "options", None) or [discord.SelectOption(label="?", value="?")]


def picked(select: discord.ui.Select[Any], interaction: discord.Interaction) -> list[str]:
    """A select's chosen values, read from the interaction where discord.py has not set them on the select."""
    return select.values or (interaction.data or {}).get("values") or []


def _count(n: int) -> str:
    return f"{n} question" + ("" if n == 1 else "s")


DYNAMIC_ITEMS = (AskButton, VoteButton, TopicsSelect)


def _unique(options: Sequence[Option]) -> list[Option]:
    seen: set[str] = set()
    out = []
    for option in options:
        if option.intent_id not in seen:
            seen.add(option.intent_id)
            out.append(option)
    return out


def to_view(reply: Reply, *, votes: bool = True) -> discord.ui.View:
    """Ask buttons for the reply's options (one per row while they fit), plus 👍/👎 under answers."""
    view = discord.ui.View(timeout=None)
    with_votes = votes and reply.kind == "answer" and bool(reply.intent_id)
    rows = limits.ACTION_ROWS - (1 if with_votes else 0)
    options = _unique(reply.options)[: rows * limits.BUTTONS_PER_ROW]
    per_row = max(1, math.ceil(len(options) / rows)) if options else 1
    for index, option in enumerate(options):
        view.add_item(AskButton(option.intent_id, option.label, row=index // per_row))
    if with_votes:
        assert reply.intent_id is not None
        view.add_item(VoteButton(1, reply.intent_id, row=limits.ACTION_ROWS - 1))
        view.add_item(VoteButton(-1, reply.intent_id, row=limits.ACTION_ROWS - 1))
    return view


def topics_view(kb: KnowledgeBase) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    select = TopicsSelect.for_knowledge(kb)
    if select is not None:
        view.add_item(select)
    return view


def message_kwargs(reply: Reply, *, view: discord.ui.View | None = None) -> dict[str, Any]:
    """Everything a send needs: the embed, its components, and no pings whatever the text says."""
    return {"embed": to_embed(reply), "view": view if view is not None else to_view(reply), "allowed_mentions": NO_PINGS}


def in_server(bot: PMBot, reply: Reply, guild_id: int | None) -> Reply:
    """The reply with the notes the server's moderators put under its answer (``/config answer-notes``); a DM's
    has none."""
    if guild_id is None or reply.intent_id is None:
        return reply
    return with_server_notes(reply, bot.guild_settings.stored(guild_id).notes_under(reply.intent_id))


async def send_reply(
    interaction: discord.Interaction, reply: Reply, *, ephemeral: bool = False, view: discord.ui.View | None = None,
    content: str | None = None,
) -> None:
    """Answers an interaction with a reply (and the server's notes under an answer), as its response or, once
    responded/deferred, as a follow-up; `content` above it."""
    kwargs = {**message_kwargs(in_server(_bot(interaction), reply, interaction.guild_id), view=view), "content": content}
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(**kwargs, ephemeral=ephemeral)
