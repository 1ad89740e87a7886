"""Roles: /role, /compare and /topics (with its category select, see render.TopicsSelect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.render import NO_PINGS, send_reply, topics_view
from bot.discord.search import choice_text, suggest_roles
from bot.replies import comparison_reply, role_reply, topics_reply

if TYPE_CHECKING:
    from bot.discord.app import PMBot


class Roles(commands.Cog):
    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    @app_commands.command(name="role", description="A summary of one role: what it owns, its skills, who it works with")
    @app_commands.describe(name="The role, e.g. product manager, project manager, scrum master")
    async def role(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        kb = self.bot.service.kb
        found = kb.find_role(name)
        if found is None:
            known = ", ".join(f"**{r.name}**" for r in kb.roles.values())
            await interaction.response.send_message(
                f"I don't know a role called “{discord.utils.escape_markdown(name)}”. I know: {known}.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        await send_reply(interaction, role_reply(kb, found))

    @role.autocomplete("name")
    async def role_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        roles = suggest_roles(self.bot.service.kb, current)
        return [app_commands.Choice(name=choice_text(r.name), value=choice_text(r.name)) for r in roles]

    @app_commands.command(name="compare", description="Product manager vs project manager, side by side")
    async def compare(self, interaction: discord.Interaction) -> None:
        await send_reply(interaction, comparison_reply(self.bot.service.kb))

    @app_commands.command(name="topics", description="Browse everything pmbot can answer, by topic")
    async def topics(self, interaction: discord.Interaction) -> None:
        kb = self.bot.service.kb
        await send_reply(interaction, topics_reply(kb), view=topics_view(kb))


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Roles(bot))
