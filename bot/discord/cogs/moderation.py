"""Moderation: the /kb group (reload, status) for people who look after the knowledge.

Who may use it is decided twice, on purpose:

* ``default_permissions=Manage Server`` is only a *hint* to Discord about who
  sees the command by default; server admins can change it per role or
  channel (Server Settings → Integrations), and it means nothing to a stale
  client or a crafted request.
* :class:`ModeratorGroup` enforces it: every subcommand of /kb, including
  ones added later, first runs :func:`is_moderator` (Manage Server, or one of
  PMBOT_MODERATOR_ROLES). Everyone else gets an ephemeral refusal.

To add a subcommand, add a method decorated with ``@kb.command(...)`` to
:class:`Moderation`; it is checked like the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Sequence

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.discord.errors import NotModerator
from bot.discord.render import NO_PINGS, to_embed
from bot.knowledge import KnowledgeBase, KnowledgeDiff, KnowledgeError, Problem
from bot.replies import Field, Reply

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.moderation")

OK_COLOUR = 0x22C55E
ERROR_COLOUR = 0xEF4444
INFO_COLOUR = 0x64748B
MOD_FOOTER = "Only you can see this. /kb status shows what is loaded."
REFUSAL = "Only moderators can use /kb: members with **Manage Server** or a moderator role."


def is_moderator(user: discord.abc.User, moderator_role_ids: Collection[int], permissions: discord.Permissions | None = None) -> bool:
    """Manage Server (administrators and the owner have it implicitly) or one of the moderator roles."""
    if not isinstance(user, discord.Member):
        return False  # not in a server: /kb is guild-only
    if permissions is not None and (permissions.manage_guild or permissions.administrator):
        return True
    if user.guild_permissions.manage_guild:
        return True
    return any(role.id in moderator_role_ids for role in user.roles)


class ModeratorGroup(app_commands.Group):
    """An app-command group whose every subcommand is for moderators only (a real, enforced check)."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        bot: PMBot = interaction.client  # type: ignore[assignment]
        if is_moderator(interaction.user, bot.settings.moderator_role_ids, interaction.permissions):
            return True
        log.info("refused /%s for user %s in guild %s", self.name, interaction.user.id, interaction.guild_id)
        raise NotModerator(REFUSAL)


def _relative(problem: Problem, folder: Path | None) -> str:
    """``FILE:LINE: message`` with FILE relative to the knowledge folder: shorter, and no server paths shown."""
    text = str(problem)
    if folder is not None:
        prefix = str(folder).rstrip("/" + os.sep) + os.sep
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def problems_block(problems: Sequence[Problem], room: int, folder: Path | None = None) -> str:
    """FILE:LINE problems as a code block that fits in ``room`` characters, saying how many were left out."""
    lines = [_relative(p, folder).replace("```", "'''") for p in problems]
    fence_open, fence_close = "```\n", "\n```"
    budget = room - len(fence_open) - len(fence_close) - 40  # leave space for "… and N more"
    shown: list[str] = []
    used = 0
    for line in lines:
        line = limits.clip(line, 300)
        if used + len(line) + 1 > budget:
            break
        shown.append(line)
        used += len(line) + 1
    text = fence_open + "\n".join(shown) + fence_close
    if len(shown) < len(lines):
        text += f"\n… and {len(lines) - len(shown)} more (run `python -m bot validate` for all)."
    return text


def _ids(ids: Sequence[str]) -> str:
    return limits.clip(", ".join(f"`{i}`" for i in ids), limits.EMBED_FIELD_VALUE)


def reload_reply(diff: KnowledgeDiff, kb: KnowledgeBase) -> Reply:
    counts = f"Now serving **{len(kb.intents)}** intents and **{len(kb.roles)}** roles from {len(kb.sources)} files."
    fields = tuple(
        Field(f"{label} ({len(ids)})", _ids(ids))
        for label, ids in (("Added", diff.added), ("Removed", diff.removed), ("Changed", diff.changed))
        if ids
    )
    body = ("No intents changed." if diff.empty else diff_summary_line(diff)) + "\n" + counts
    return Reply("info", "Knowledge reloaded", body, OK_COLOUR, fields, footer=MOD_FOOTER).fitted()


def diff_summary_line(diff: KnowledgeDiff) -> str:
    parts = [f"{len(ids)} {label}" for label, ids in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)) if ids]
    return "Intents " + ", ".join(parts) + "."


def reload_failed_reply(error: KnowledgeError, folder: Path | None = None) -> Reply:
    note = (
        f"**{len(error.problems)} problem(s)** in the knowledge files, so nothing was changed: "
        "**the previous knowledge keeps serving.** Fix these and run `/kb reload` again.\n"
    )
    body = note + problems_block(error.problems, limits.EMBED_DESCRIPTION - len(note), folder)
    return Reply("info", "Reload failed", body, ERROR_COLOUR, footer=MOD_FOOTER).fitted()


def status_reply(kb: KnowledgeBase, path: str) -> Reply:
    loaded = int(kb.loaded_at.timestamp())
    files = "\n".join(f"`{s.path.name}` {s.sha256[:12]}" for s in kb.sources) or "(none)"
    fields = (
        Field("Loaded", f"<t:{loaded}:F> (<t:{loaded}:R>)", inline=True),
        Field(
            "Counts",
            f"{len(kb.intents)} intents · {len(kb.roles)} roles · {len(kb.categories)} categories · "
            f"{len(kb.synonyms)} synonyms",
            inline=True,
        ),
        Field(f"Source files ({len(kb.sources)})", limits.clip(files, limits.EMBED_FIELD_VALUE)),
    )
    return Reply("info", "Knowledge status", f"Folder: `{path}`", INFO_COLOUR, fields, footer=MOD_FOOTER).fitted()


class Moderation(commands.Cog):
    kb = ModeratorGroup(
        name="kb",
        description="Look after pmbot's knowledge (moderators)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot
        self._reload_lock = asyncio.Lock()

    @kb.command(name="reload", description="Re-read the knowledge files; on any problem the old knowledge keeps serving")
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = self.bot.service
        async with self._reload_lock:  # two moderators at once: one after the other, each sees its own diff
            try:
                matcher = await asyncio.to_thread(service.check)
            except KnowledgeError as exc:
                log.warning("reload by user %s failed with %d problem(s)", interaction.user.id, len(exc.problems))
                reply = reload_failed_reply(exc, service.path)
            else:
                diff = service.swap(matcher)
                log.info("knowledge reloaded by user %s: %s", interaction.user.id, diff.summary())
                reply = reload_reply(diff, service.kb)
        await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)

    @kb.command(name="status", description="What knowledge is loaded: source files, counts, when")
    async def status(self, interaction: discord.Interaction) -> None:
        reply = status_reply(self.bot.service.kb, str(self.bot.service.path))
        await interaction.response.send_message(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Moderation(bot))
