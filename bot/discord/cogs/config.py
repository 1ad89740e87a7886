"""/config: each server's own pmbot settings, set by that server's moderators.

Help channels (and whether pmbot offers "Did you mean…" there, or answers in threads), moderator
roles, the moderator log channel, the question cooldown, the weekly digest and the server's own notes
under answers, stored per server
(:class:`~bot.guild_settings.GuildSettingsCache`, backed by the database) over
the host's environment defaults. Every change
is applied at once (no restart), answered privately and posted to that
server's moderator log with who made it.

Every subcommand, in the subcommand groups too, is checked by
:class:`~bot.discord.checks.ModeratorGroup`: discord.py runs only the
immediate parent group's check, so each group carries it. Channels and roles
from another server (a crafted request could name them) are refused.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import TYPE_CHECKING, Callable, Iterable, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.discord import audit
from bot.discord.kb_replies import inline_code
from bot.discord.checks import ModeratorGroup, describe_user, may_moderate
from bot.discord.cogs.moderation import respond, think
from bot.discord.digest import Outcome, send_if_due
from bot.discord.permissions import may_embed, may_read_history, missing_to_answer, missing_to_post, unanswerable_help_channels
from bot.discord.search import choice_text
from bot.store import ANSWER_NOTE_LIMIT, EVERY_ANSWER, GuildSettings

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.config")

HelpChannel = discord.TextChannel | discord.ForumChannel
Setting = Literal["help-channels", "help-channel-suggestions", "help-channel-threads", "moderator-roles", "mod-log",
                  "cooldown", "weekly-digest", "answer-notes", "everything"]
CLEARED: dict[str, dict[str, object]] = {
    "help-channels": {"help_channels": None},
    "help-channel-suggestions": {"help_channel_suggestions": None},
    "help-channel-threads": {"help_channel_threads": None},
    "moderator-roles": {"moderator_roles": None},
    "mod-log": {"mod_log_channel": None},
    "cooldown": {"cooldown_rate": None, "cooldown_seconds": None},
    "weekly-digest": {"weekly_digest": None},
    "answer-notes": {"answer_notes": ()},
}
CLEARED["everything"] = {k: v for fields in CLEARED.values() for k, v in fields.items()}
NO_MESSAGE_CONTENT = (
    "\n⚠️ This pmbot runs without the Message Content intent (PMBOT_MESSAGE_CONTENT=false), so it cannot read "
    "questions that do not mention it; ask whoever runs it to turn the intent on."
)


def _may_not_post(channel: discord.abc.Messageable, missing: str | None) -> str:
    """A line (with its line break) when pmbot lacks ``missing`` (bot.discord.permissions says what) to post in
    ``channel``, where it does not even try; nothing when it lacks nothing."""
    channel_id = channel.id  # type: ignore[attr-defined]
    return f"\n⚠️ I may not post in <#{channel_id}>: give my role {missing} in that channel." if missing else ""


# What pmbot's messages in a channel without Embed Links become (render.fitted), said of answers or of log posts.
AS_PLAIN_TEXT = "go as plain text (give my role Embed Links there for their full layout)"


def _log_posts(channel: discord.abc.Messageable) -> str:
    """:func:`_may_not_post`'s line for a moderator log, else one when its posts go as plain text for want of Embed
    Links (render.fitted); nothing when pmbot lacks nothing there."""
    if missing := missing_to_post(channel):
        return _may_not_post(channel, missing)
    channel_id = channel.id  # type: ignore[attr-defined]
    return "" if may_embed(channel) else f"\nℹ️ In <#{channel_id}>, my posts {AS_PLAIN_TEXT}."


def _limited(channel: discord.abc.GuildChannel | None, *, in_threads: bool) -> str:
    """A line (with its line break) when pmbot answers in a help channel, but not as well as it could for want of a
    permission there; nothing otherwise, or for a channel this server no longer has. Answers in threads started on
    the questions reply to nothing, so they need no Read Message History but to find an answer to edit."""
    if channel is None:
        return ""
    lacking = [] if may_embed(channel) else [f"my answers {AS_PLAIN_TEXT}"]
    if not may_read_history(channel):
        if not (in_threads and isinstance(channel, discord.TextChannel)):
            lacking.append("my answers name their asker instead of replying")
        lacking.append("an edited question gets no new answer (give my role Read Message History there)")
    return f"\nℹ️ In <#{channel.id}>, {'; '.join(lacking)}." if lacking else ""


def _mentions(prefix: str, ids: Iterable[int]) -> str:
    return ", ".join(f"<{prefix}{i}>" for i in sorted(ids)) or "none"


class ServerConfig(commands.Cog):
    config = ModeratorGroup(
        name="config",
        description="This server's pmbot settings (moderators)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )
    help_channels = ModeratorGroup(
        name="help-channels", description="Channels where pmbot answers questions that do not mention it", parent=config
    )
    moderator_roles = ModeratorGroup(
        name="moderator-roles", description="Roles whose members may use /kb and /config here", parent=config
    )
    answer_notes = ModeratorGroup(
        name="answer-notes", description="This server's own notes under pmbot's answers: its channels, its resources",
        parent=config,
    )

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    # -- reading --------------------------------------------------------------------

    @config.command(name="show", description="This server's settings, and which come from the defaults")
    async def show(self, interaction: discord.Interaction) -> None:
        guild = _guild(interaction)
        own = self.bot.guild_settings.stored(guild.id)
        now = self.bot.guild_settings.effective(guild.id)

        def origin(value: object) -> str:
            return "set here" if value is not None else "default"

        mod_log = f"<#{now.mod_log_channel}>" if audit.mod_log_channel(self.bot, guild) else "none"
        lines = [
            f"**pmbot settings for {guild.name}**",
            f"Help channels ({origin(own.help_channels)}): {_mentions('#', _here(guild, now.help_channels))}",
            f"Help channel replies ({origin(own.help_channel_suggestions)}): {_replies(now.help_channel_suggestions)}",
            f"Help channel answers go ({origin(own.help_channel_threads)}): {_placed(now.help_channel_threads)}",
            f"Moderator roles ({origin(own.moderator_roles)}): {_mentions('@&', _here(guild, now.moderator_roles))}"
            " — and everyone with Manage Server",
            f"Moderator log ({origin(own.mod_log_channel)}): {mod_log}",
            f"Cooldown ({origin(own.cooldown_rate)}): {now.cooldown_rate} questions per {now.cooldown_seconds:g} s per member",
            f"Weekly digest in the moderator log ({origin(own.weekly_digest)}): {'on' if now.weekly_digest else 'off'}",
            f"Answer notes: {_counted(own.answer_notes)}"
            f" (`/config answer-notes {'show' if own.answer_notes else 'set'}`)",
        ]
        if not self.bot.settings.message_content:
            lines.append(NO_MESSAGE_CONTENT.strip())
        blocked = unanswerable_help_channels(guild, now)
        warnings = [_may_not_post(c, missing) for c, missing in blocked]
        warnings += [_limited(guild.get_channel(channel_id), in_threads=now.help_channel_threads)
                     for channel_id in sorted(now.help_channels - {c.id for c, _ in blocked})]
        if (mod_log := audit.mod_log_channel(self.bot, guild)) is not None:
            warnings.append(_log_posts(mod_log))
        await respond(interaction, content="\n".join(lines) + "".join(warnings))

    # -- help channels ------------------------------------------------------------------

    @help_channels.command(name="add", description="pmbot answers on-topic questions here even without a mention")
    @app_commands.describe(channel="A text or forum channel of this server")
    async def help_channels_add(self, interaction: discord.Interaction, channel: HelpChannel) -> None:
        guild = _guild(interaction)
        if not await _same_server(interaction, channel):
            return
        await self._change(interaction, f"Help channel {channel.mention} added",
                           lambda own: {"help_channels": self._own_set(guild, own, "help_channels") | {channel.id}})
        in_threads = self.bot.guild_settings.effective(guild.id).help_channel_threads
        note = (("" if self.bot.settings.message_content else NO_MESSAGE_CONTENT)
                + (_may_not_post(channel, missing) if (missing := missing_to_answer(channel, in_threads=in_threads))
                   else _limited(channel, in_threads=in_threads)))
        await respond(interaction, content=f"{channel.mention} is now a help channel: I answer on-topic questions there, "
                                           f"mentioned or not.{note}")

    @help_channels.command(name="remove", description="pmbot answers only when mentioned in this channel")
    @app_commands.describe(channel="One of this server's help channels")
    async def help_channels_remove(self, interaction: discord.Interaction, channel: HelpChannel) -> None:
        guild = _guild(interaction)
        if not await _same_server(interaction, channel):
            return
        await self._change(interaction, f"Help channel {channel.mention} removed",
                           lambda own: {"help_channels": self._own_set(guild, own, "help_channels") - {channel.id}})
        await respond(interaction, content=f"{channel.mention} is no longer a help channel: I answer there only when mentioned.")

    @help_channels.command(name="suggestions", description='Whether pmbot offers "Did you mean…" in help channels, or only answers')
    @app_commands.describe(offer='True: answers, and "Did you mean…" when unsure; False: only answers it is sure of')
    async def help_channels_suggestions(self, interaction: discord.Interaction, offer: bool) -> None:
        """Off for a busy channel: questions near the topic that no answer covers draw more "Did you mean…" than
        the questions it half-knows do. A mention still gets a reply to anything."""
        await self._change(interaction, f"Help channel replies set to {_replies(offer)}",
                           lambda own: {"help_channel_suggestions": offer})
        await respond(interaction, content=f"In help channels I now reply with {_replies(offer)}. "
                                           "Mention me for a reply to anything.")

    @help_channels.command(name="threads", description="Whether pmbot answers in help channels in a thread on the question")
    @app_commands.describe(on="True: a thread started on each question, for its answer and follow-ups; False: replies")
    async def help_channels_threads(self, interaction: discord.Interaction, on: bool) -> None:
        """On for a busy channel: each answer and its follow-ups stay under their question, out of the channel."""
        await self._change(interaction, f"Help channel answers now go {_placed(on)}",
                           lambda own: {"help_channel_threads": on})
        extra = (" I need the Create Public Threads permission there; without it I reply instead. With Manage Threads "
                 "too, a thread whose question is deleted goes with it, unless a member wrote in it.") if on else ""
        await respond(interaction, content=f"In help channels my answers now go {_placed(on)}.{extra}")

    # -- moderator roles ------------------------------------------------------------------

    @moderator_roles.command(name="add", description="Members with this role may use /kb and /config here")
    @app_commands.describe(role="A role of this server")
    async def moderator_roles_add(self, interaction: discord.Interaction, role: discord.Role) -> None:
        guild = _guild(interaction)
        if not await _same_server(interaction, role):
            return
        await self._change(interaction, f"Moderator role {role.mention} added",
                           lambda own: {"moderator_roles": self._own_set(guild, own, "moderator_roles") | {role.id}})
        await respond(interaction, content=f"Members with {role.mention} are now moderators here: /kb and /config.")

    @moderator_roles.command(name="remove", description="Members with this role are no longer moderators here")
    @app_commands.describe(role="One of this server's moderator roles")
    async def moderator_roles_remove(self, interaction: discord.Interaction, role: discord.Role) -> None:
        guild = _guild(interaction)
        if not await _same_server(interaction, role):
            return
        await self._change(interaction, f"Moderator role {role.mention} removed",
                           lambda own: {"moderator_roles": self._own_set(guild, own, "moderator_roles") - {role.id}})
        await respond(interaction, content=f"{role.mention} is no longer a moderator role here (Manage Server still is).")

    # -- answer notes ---------------------------------------------------------------------

    @answer_notes.command(name="set", description="Add a note of this server's under one answer, or under every answer")
    @app_commands.describe(topic="The answer it goes under (start typing its question), or Every answer",
                           note=f"What members of this server should know there: a channel, a link, a tip "
                                f"(up to {ANSWER_NOTE_LIMIT} characters)")
    async def answer_notes_set(
        self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100],
        note: app_commands.Range[str, 1, ANSWER_NOTE_LIMIT],
    ) -> None:
        """The knowledge every server shares cannot name a server's channels or its reading list; a note can."""
        text = note.strip()
        if topic != EVERY_ANSWER and topic not in self.bot.service.kb.intents:
            await respond(interaction, content=f"I have no answer {inline_code(topic)}: pick one "
                                               "from the list as you type, or **Every answer**. Nothing was changed.")
            return
        if not text or len(text) > ANSWER_NOTE_LIMIT:
            await respond(interaction, content=f"A note needs 1 to {ANSWER_NOTE_LIMIT} characters of text. "
                                               "Nothing was changed.")
            return
        where = self._under(topic)
        await self._change(interaction, f"Note under {where} set: “{limits.clip(text, 200)}”",
                           lambda own: {"answer_notes": own.with_note(topic, text)})
        await respond(interaction, content=f"Here, under {where}, I now add:\n>>> {text}")

    @answer_notes.command(name="remove", description="Take one of this server's notes off the answers")
    @app_commands.describe(topic="The answer whose note goes, or Every answer")
    async def answer_notes_remove(self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100]) -> None:
        guild = _guild(interaction)
        if topic not in dict(self.bot.guild_settings.stored(guild.id).answer_notes):
            await respond(interaction, content=f"This server has no note under {self._under(topic)}. "
                                               "`/config answer-notes show` lists its notes.")
            return
        where = self._under(topic)
        await self._change(interaction, f"Note under {where} removed", lambda own: {"answer_notes": own.with_note(topic, None)})
        await respond(interaction, content=f"No more note under {where} here.")

    @answer_notes.command(name="show", description="This server's notes under answers, in full")
    async def answer_notes_show(self, interaction: discord.Interaction) -> None:
        notes = self.bot.guild_settings.stored(_guild(interaction).id).answer_notes
        if not notes:
            await respond(interaction, content="This server has no notes under answers. Add one with "
                                               "`/config answer-notes set`.")
            return
        listing = "\n\n".join(f"Under {self._under(topic)}:\n{text}" for topic, text in notes)
        if len(listing) <= limits.MESSAGE_CONTENT:
            await respond(interaction, content=listing)
            return
        await respond(interaction, content=f"This server's {_counted(notes)}, in the attached file.",
                      file=discord.File(io.BytesIO(listing.encode()), filename="answer-notes.md"))

    @answer_notes_set.autocomplete("topic")
    async def answer_notes_set_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        ids = self.bot.intent_search().suggest(current, limits.AUTOCOMPLETE_CHOICES - 1)
        every = [EVERY_ANSWER] if EVERY_ANSWER_CHOICE.casefold().startswith(" ".join(current.casefold().split())) else []
        return [app_commands.Choice(name=self._choice(i), value=i) for i in every + ids]

    @answer_notes_remove.autocomplete("topic")
    async def answer_notes_remove_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not await may_moderate(interaction):
            return []  # autocomplete skips the group check; which answers a server noted is its moderators' to see
        typed = current.casefold().strip()
        topics = [t for t, _ in self.bot.guild_settings.stored(interaction.guild_id).answer_notes]
        return [app_commands.Choice(name=self._choice(t), value=t)
                for t in topics if typed in self._choice(t).casefold()][: limits.AUTOCOMPLETE_CHOICES]

    def _choice(self, topic: str) -> str:
        intent = self.bot.service.kb.intents.get(topic)
        return EVERY_ANSWER_CHOICE if topic == EVERY_ANSWER else choice_text(intent.title if intent else topic)

    def _under(self, topic: str) -> str:
        """How a reply names the answer a note goes under; a note on an intent the knowledge lost says so."""
        if topic == EVERY_ANSWER:
            return "every answer"
        intent = self.bot.service.kb.intents.get(topic)
        if intent is None:
            return f"{inline_code(topic)} (no longer in the knowledge, so shown nowhere)"
        return f"“{discord.utils.escape_markdown(intent.title)}” (`{topic}`)"

    # -- the rest -----------------------------------------------------------------------------

    @config.command(name="mod-log", description="Where pmbot posts knowledge and settings changes for this server")
    @app_commands.describe(channel="A text channel of this server, best visible to moderators only")
    async def mod_log(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        if not await _same_server(interaction, channel):
            return
        await self._change(interaction, f"Moderator log set to {channel.mention}", lambda own: {"mod_log_channel": channel.id})
        await respond(interaction, content=f"I will post knowledge and settings changes in {channel.mention}."
                                           + _log_posts(channel))

    @config.command(name="cooldown", description="How many questions each member may ask per period here")
    @app_commands.describe(rate="Questions allowed per period", seconds="The period, in seconds")
    async def cooldown(
        self,
        interaction: discord.Interaction,
        rate: app_commands.Range[int, 1, 100],
        seconds: app_commands.Range[int, 1, 86_400],
    ) -> None:
        text = f"{rate} questions per {seconds} s per member"
        await self._change(interaction, f"Cooldown set to {text}",
                           lambda own: {"cooldown_rate": rate, "cooldown_seconds": float(seconds)})
        await respond(interaction, content=f"Cooldown here: {text}.")

    @config.command(name="weekly-digest", description="Whether pmbot posts a digest of its week here in the moderator log")
    @app_commands.describe(on="True: every 7 days, replies, votes and the most asked gaps; False: no digest")
    async def weekly_digest(self, interaction: discord.Interaction, on: bool) -> None:
        """The first digest goes out at once, so that the moderators see what they asked for."""
        await think(interaction)  # the first digest reads the week's records
        await self._change(interaction, f"Weekly digest turned {'on' if on else 'off'}", lambda own: {"weekly_digest": on})
        guild = _guild(interaction)
        channel = audit.mod_log_channel(self.bot, guild)
        if not on:
            text = "No more weekly digests here."
        elif channel is None:
            text = "Weekly digest on, but this server has no moderator log for it: set one with `/config mod-log`."
        else:
            text = f"Every 7 days I will post a digest of my week here in <#{channel.id}>" + {
                Outcome.SENT: ", starting now.",
                Outcome.QUIET: "; this week there was nothing to tell, so the first goes out in 7 days.",
                Outcome.NOT_DUE: "; the last one went out less than 7 days ago.",
                Outcome.UNPOSTABLE: ", but I could not post this week's there: I will try again every hour."
                                    + _may_not_post(channel, missing_to_post(channel)),
            }[await send_if_due(self.bot, guild)]
        await respond(interaction, content=text)

    @config.command(name="reset", description="Clear a setting: this server uses pmbot's default again")
    @app_commands.describe(setting="Which setting to clear")
    async def reset(self, interaction: discord.Interaction, setting: Setting) -> None:
        await self._change(interaction, f"Setting {setting} reset to the default", lambda own: CLEARED[setting])
        await respond(interaction, content=f"{setting} is back to pmbot's default here. `/config show` shows what that is.")

    # -- plumbing -------------------------------------------------------------------------------

    def _own_set(self, guild: discord.Guild, own: GuildSettings, field: Literal["help_channels", "moderator_roles"]) -> frozenset[int]:
        """The server's own set, or, the first time it changes one, the defaults that apply to it."""
        current: frozenset[int] | None = getattr(own, field)
        if current is not None:
            return current
        return frozenset(_here(guild, getattr(self.bot.guild_settings.effective(guild.id), field)))

    async def _change(
        self, interaction: discord.Interaction, what: str, fields: Callable[[GuildSettings], dict[str, object]]
    ) -> None:
        """Saves the change (computed from the settings as they are, under the cache's lock), then audits it."""
        guild = _guild(interaction)
        await self.bot.guild_settings.update(guild.id, lambda own: dataclasses.replace(own, **fields(own)))
        await audit.server_changed(self.bot, guild, f"{what}, by {describe_user(interaction.user)}.")


EVERY_ANSWER_CHOICE = "Every answer"


def _counted(notes: tuple[tuple[str, str], ...]) -> str:
    return "none" if not notes else f"{len(notes)} note" + ("" if len(notes) == 1 else "s")


def _replies(suggestions: bool) -> str:
    return 'answers, and "Did you mean…" when unsure' if suggestions else "only answers I am sure of"


def _placed(threads: bool) -> str:
    return "in a thread started on the question" if threads else "as replies in the channel"


def _guild(interaction: discord.Interaction) -> discord.Guild:
    assert interaction.guild is not None, "/config is guild-only"
    return interaction.guild


def _here(guild: discord.Guild, ids: Iterable[int]) -> set[int]:
    """The ids that are this server's channels or roles: a default list may name other servers'."""
    return {i for i in ids if guild.get_channel_or_thread(i) is not None or guild.get_role(i) is not None}


async def _same_server(interaction: discord.Interaction, item: discord.abc.GuildChannel | discord.Role) -> bool:
    """Refuses a channel or role of another server (only a crafted request can name one)."""
    if item.guild.id == interaction.guild_id:
        return True
    log.warning("refused /config naming %s of another server, by user %s", item.id, interaction.user.id)
    await respond(interaction, content="That channel or role is not in this server; nothing was changed.")
    return False


async def setup(bot: PMBot) -> None:
    await bot.add_cog(ServerConfig(bot))
