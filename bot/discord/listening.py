"""Which messages the bot treats as questions, and what the question is.

Three ways in, from most to least explicit:

* **direct**: a DM, or a message that mentions the bot (``<@id>``, ``<@!id>``,
  or the bot's own managed role). The bot always replies, even on fallback,
  because it was asked. A bare mention is a request for help, unless it
  replies to a member's message: "@pmbot ^" under someone's question asks
  the bot to answer that question (the Questions cog decides which is read).
* **passive**: a message in a configured help channel, or a thread under
  one, or a reply to one of the bot's own messages, that *looks like a
  question* and does not reply to someone else's message (that asks them),
  and any new post in a help forum (bot/help_channels.py, which
  also says what the bot replies to there: never a fallback, so it never
  spams a conversation). Needs the privileged Message Content intent; without
  it Discord sends these messages with empty content (a reply that pings the
  bot aside) and they are ignored here.

Never: bots (itself included), webhooks, system messages (pins, joins,
thread-created notices, ...).

Mentioning the bot is detected from the message *text*, not from
``message.mentions``: replying to one of the bot's answers with "ping on"
also lists the bot there, and a "thanks!" reply should not get a fallback.
A follow-up asked as a reply ("and how is that different from a scrum
master?") is heard as a help channel's question is, in any channel, and
knows which answer it follows: a bare "what about project managers?"
under a salary answer asks about project managers' salaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Literal

import discord

from bot.discord.render import answered_intent
from bot.help_channels import looks_like_question

Mode = Literal["direct", "passive"]

_USER_MENTION = r"<@!?{id}>"
_LEADING_JUNK = re.compile(r"^[\s,.:;!\-–—>]+")
_SPACES = re.compile(r"\s+")  # a message is read on one line: the gaps list shows it so, and /kb teach keeps it
_SENTENCE_ENDS = frozenset(".?!:")
_ANSWERABLE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


@dataclass(frozen=True)
class Heard:
    """A message the bot should consider: the question text and how it was addressed."""

    text: str
    mode: Mode
    follows: str | None = None  # the intent of the answer it replies to, which "and project managers?" asks again
    quoted: str | None = None  # a member's message a mention replies to: "@pmbot ^" asks the bot to answer it

    @property
    def direct(self) -> bool:
        return self.mode == "direct"


def strip_bot_mention(content: str, bot_id: int, role_id: int | None = None) -> str:
    """The message without the bot's mention(s), tidied: "@pmbot, what is X?" → "what is X?"."""
    text = re.sub(_USER_MENTION.format(id=bot_id), " ", content)
    if role_id is not None:
        text = text.replace(f"<@&{role_id}>", " ")
    text = _SPACES.sub(" ", text).strip()
    return _LEADING_JUNK.sub("", text).strip()


def mentions_bot(content: str, bot_id: int, role_id: int | None = None) -> bool:
    if re.search(_USER_MENTION.format(id=bot_id), content):
        return True
    return role_id is not None and f"<@&{role_id}>" in content


def _bot_role_id(message: discord.Message) -> int | None:
    guild = message.guild
    if guild is None:
        return None
    try:
        role = guild.self_role
    except AttributeError:  # a guild without our member cached
        return None
    return role.id if role is not None else None


def in_listen_channel(channel: object, listen_channel_ids: Collection[int]) -> bool:
    """A configured help channel, or a thread (forum post included) whose parent is one."""
    if not listen_channel_ids:
        return False
    if getattr(channel, "id", None) in listen_channel_ids:
        return True
    return isinstance(channel, discord.Thread) and channel.parent_id in listen_channel_ids


def _post_title(message: discord.Message) -> str | None:
    """The title of the forum post this message opens, or None.

    A forum post's question is often its title alone ("PO vs PM: who owns the backlog?") above a body of
    context, or above an image: read without it, the body was the whole question. A post's first message
    shares the thread's id; a thread started from a message in a text channel has its starter message in
    the parent channel, so only forum and media posts match.
    """
    channel = message.channel
    if isinstance(channel, discord.Thread) and channel.id == message.id and channel.name:
        return channel.name
    return None


def said(message: discord.Message) -> str:
    """The message's text on one line, after its forum post's title when it opens one. A forwarded message's is the
    text it forwards: Discord sends a forward with no content of its own and a copy of the original beside it, and a
    member forwards a question to pmbot's DMs, a help channel or Apps → Ask pmbot to have it answered."""
    content = message.content or " ".join(snapshot.content for snapshot in message.message_snapshots)
    if (title := _post_title(message)) is not None:
        # A full stop ends a title that has none, as its line break did on screen (question_finder.py reads sentences).
        stop = "" if not content.strip() or title.rstrip()[-1:] in _SENTENCE_ENDS else "."
        content = f"{title}{stop} {content}"
    return _SPACES.sub(" ", content).strip()


def _quoted(message: discord.Message) -> str | None:
    """The text of a member's message this one replies to, or None (a bot's, a system message, one without text)."""
    replied = _replied_to(message)
    if replied is None or replied.author.bot or replied.webhook_id is not None or replied.type not in _ANSWERABLE_TYPES:
        return None
    return said(replied) or None


def _replied_to(message: discord.Message) -> discord.Message | None:
    """The message this one replies to, or None (a deleted or uncached one is not known, and a forward replies to
    nothing: its reference is where its copy came from)."""
    reference = message.reference
    if reference is None or reference.type is not discord.MessageReferenceType.reply:
        return None
    return reference.resolved if isinstance(reference.resolved, discord.Message) else None


def answered(message: discord.Message, me: discord.abc.User, asker: discord.abc.User) -> str | None:
    """The intent the bot's message answered the asker with (as a reply to their question, or to their /ask or
    button click); None for anyone else's message, or an answer to someone else."""
    if message.author.id != me.id:
        return None
    replied, clicked = _replied_to(message), message.interaction_metadata
    to_asker = replied is not None and replied.author.id == asker.id
    return answered_intent(message) if to_asker or (clicked and clicked.user.id == asker.id) else None


def heard_question(message: discord.Message, me: discord.abc.User, listen_channel_ids: Collection[int]) -> Heard | None:
    """What the bot should do with a message: None to ignore it, else the question and its mode."""
    author = message.author
    if author.bot or author.id == me.id or message.webhook_id is not None:
        return None
    if message.type not in _ANSWERABLE_TYPES:
        return None
    content = said(message)
    role_id = _bot_role_id(message)
    replied = _replied_to(message)
    to_me = replied is not None and replied.author.id == me.id
    follows = answered_intent(replied) if to_me else None
    dm = message.guild is None or isinstance(message.channel, (discord.DMChannel, discord.GroupChannel))
    if dm or mentions_bot(message.content, me.id, role_id):  # a forwarded message's mention was not said to pmbot
        return Heard(strip_bot_mention(content, me.id, role_id), "direct", follows, _quoted(message))
    if replied is not None and replied.author.id not in (me.id, author.id):
        # "what does a PO do, then?" under a member's explanation asks that member, in a conversation pmbot was not
        # called into; a reply to one's own message goes on asking.
        return None
    if in_listen_channel(message.channel, listen_channel_ids) or to_me:
        # A new post in a help forum asks by being posted: "Scope creep" over a story is a request for help.
        if content and (_post_title(message) is not None or looks_like_question(content)):
            return Heard(content, "passive", follows)
    return None
