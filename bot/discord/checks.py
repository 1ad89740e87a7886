"""Who may do what, checked for real on every command.

Three kinds of people (see the README's "Who may do what"):

* **Owners** change the shared knowledge that every server's answers come
  from (/kb reload, upload, rollback, teach). They are the application's
  owner or team members (``Bot.is_owner``, from Discord's application info),
  the user ids in PMBOT_OWNER_IDS, and, when PMBOT_HOME_GUILD is set, that one
  server's moderators. The two first sources are combined here rather than by
  passing ``owner_ids`` to ``commands.Bot``, which would make discord.py skip
  the application lookup altogether.
* **Moderators** of a server (Manage Server, or a moderator role that server
  set with /config, else PMBOT_MODERATOR_ROLES) run that server's /config and
  read its gaps and feedback, never another server's.
* Everyone else asks questions.

``default_permissions`` on a command only hides it in Discord's UI; server
admins can change that per role, and a stale client or a crafted request
ignores it. So: :class:`ModeratorGroup` checks every subcommand of its group,
and :func:`owner_only` marks the commands that change the shared knowledge.
discord.py runs only the *immediate* parent group's ``interaction_check``, so a
subcommand group (``/config help-channels``) must be a :class:`ModeratorGroup`
itself. Autocomplete skips every check: callbacks call :func:`is_moderator`.
:func:`asks_a_question` marks the commands that everyone may run but that count against the question cooldown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, TypeVar

import discord
from discord import app_commands

from bot.discord.errors import NotModerator, NotOwner
from bot.store import Scope

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.checks")

T = TypeVar("T")


def moderator_refusal(command: str) -> str:
    return (
        f"Only this server's moderators can use /{command}: members with **Manage Server**, "
        "or with a moderator role set with `/config moderator-roles add`."
    )


def owner_refusal(command: str) -> str:
    return (
        f"/{command} changes the shared knowledge behind every server's answers, so only pmbot's owners can run it "
        "(the bot application's owner or team, and the users its host lists in PMBOT_OWNER_IDS). "
        "Ask them to make the change; `/kb gaps` and `/kb feedback` show what is missing here."
    )


def _bot(interaction: discord.Interaction) -> PMBot:
    return interaction.client  # type: ignore[return-value]


async def is_owner(bot: PMBot, user: discord.abc.User) -> bool:
    """The application's owner or team member, or one of PMBOT_OWNER_IDS."""
    if user.id in bot.settings.owner_ids:
        return True
    try:
        return await bot.is_owner(user)
    except discord.HTTPException as exc:  # the application info could not be fetched: deny, and say so
        log.warning("cannot check whether user %s owns the application (application info: %s)", user.id, exc)
        return False


def is_moderator(interaction: discord.Interaction) -> bool:
    """Manage Server (administrators and the server owner have it) or one of this server's moderator roles."""
    user = interaction.user
    if interaction.guild_id is None or not isinstance(user, discord.Member):
        return False
    permissions = interaction.permissions
    if permissions.manage_guild or permissions.administrator or user.guild_permissions.manage_guild:
        return True
    roles = _bot(interaction).guild_settings.effective(interaction.guild_id).moderator_roles
    return any(role.id in roles for role in user.roles)


async def may_moderate(interaction: discord.Interaction) -> bool:
    """This server's moderator, or an owner: who may use /kb and /config here."""
    return is_moderator(interaction) or await is_owner(_bot(interaction), interaction.user)


async def may_change_knowledge(interaction: discord.Interaction) -> bool:
    """An owner, or a moderator of the home server (PMBOT_HOME_GUILD)."""
    bot = _bot(interaction)
    if await is_owner(bot, interaction.user):
        return True
    home = bot.settings.home_guild_id
    return home is not None and interaction.guild_id == home and is_moderator(interaction)


def _command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "this command"


def owner_only() -> Callable[[T], T]:
    """Marks a command that changes the shared knowledge: anyone but an owner gets a refusal that says why."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if await may_change_knowledge(interaction):
            return True
        raise NotOwner(owner_refusal(_command_name(interaction)))

    return app_commands.check(predicate)


def asks_a_question() -> Callable[[T], T]:
    """Marks a command that counts against the member's question cooldown in the server, as a question asked in a
    message or with a button does (GuildCooldowns.take_turn): each posts an answer or a large embed, and the
    cooldown is what keeps one member from filling a channel with them. CooldownActive tells them how long to wait."""

    def predicate(interaction: discord.Interaction) -> bool:
        _bot(interaction).cooldowns.take_turn(interaction.guild_id, interaction.user.id)
        return True

    return app_commands.check(predicate)


class ModeratorGroup(app_commands.Group):
    """A command group for this server's moderators (and owners): a real check on every subcommand."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if await may_moderate(interaction):
            return True
        root = self.root_parent or self
        raise NotModerator(moderator_refusal(root.name))


def describe_user(user: discord.abc.User) -> str:
    """How the audit trail names someone: a mention (never pings: no mentions are allowed) and the plain name and id."""
    return f"{user.mention} ({user.name}, id {user.id})"


async def report_scope(interaction: discord.Interaction) -> Scope:
    """Whose questions and votes a report may show here: this server's, plus the DMs' for owners.

    Owners see DMs because nobody else may: a question asked in private belongs to no server.
    """
    assert interaction.guild_id is not None, "reports are guild-only commands"
    owner = await is_owner(_bot(interaction), interaction.user)
    return Scope.guild(interaction.guild_id, direct_messages=owner)
