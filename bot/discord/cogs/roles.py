"""Roles: /role, /compare and /topics (with its category select, see render.TopicsSelect).

Each posts a large embed to the channel, so each counts against the member's question cooldown, as /ask does: the
cooldown is what keeps one member from filling a channel with pmbot's posts. `private` keeps the reply to the member,
as /ask's does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.discord.checks import asks_a_question
from bot.discord.render import NO_PINGS, send_reply, topics_view
from bot.discord.search import choice_text, suggest_roles
from bot.replies import comparison_reply, role_lookup, topics_reply

if TYPE_CHECKING:
    from bot.discord.app import PMBot


PRIVATE = "True: only you see it (else it is shown to the channel)"


class Roles(commands.Cog):
    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    @app_commands.command(name="role", description="A summary of one role: what it owns, its skills, who it works with")
    @app_commands.describe(name="The role, e.g. product manager, project manager, scrum master", private=PRIVATE)
    @asks_a_question()
    async def role(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100], private: bool = False) -> None:
        kb = self.bot.service.kb
        reply = role_lookup(kb, name)
        if reply is None:
            known = ", ".join(f"**{r.name}**" for r in kb.roles.values())
            await interaction.response.send_message(
                f"I don't know a role called “{discord.utils.escape_markdown(name)}”. I know: {known}.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        await send_reply(interaction, reply, ephemeral=private)

    @role.autocomplete("name")
    async def role_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        roles = suggest_roles(self.bot.service.kb, current)
        return [app_commands.Choice(name=choice_text(r.name), value=choice_text(r.name)) for r in roles]

    @app_commands.command(name="compare", description="Product manager vs project manager, side by side")
    @app_commands.describe(aspect="Just one aspect, e.g. time horizon (leave empty for all)", private=PRIVATE)
    @asks_a_question()
    async def compare(self, interaction: discord.Interaction, aspect: app_commands.Range[str, 1, 100] | None = None,
                      private: bool = False) -> None:
        await send_reply(interaction, comparison_reply(self.bot.service.kb, aspect), ephemeral=private)

    @compare.autocomplete("aspect")
    async def compare_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        comparison = self.bot.service.kb.comparison
        typed = current.casefold().strip()
        names = [d.name for d in comparison.dimensions if typed in d.name.casefold()] if comparison else []
        return [app_commands.Choice(name=choice_text(n), value=choice_text(n)) for n in names[: limits.AUTOCOMPLETE_CHOICES]]

    @app_commands.command(name="topics", description="Browse everything pmbot can answer, by topic")
    @app_commands.describe(private=PRIVATE)
    @asks_a_question()
    async def topics(self, interaction: discord.Interaction, private: bool = False) -> None:
        kb = self.bot.service.kb
        await send_reply(interaction, topics_reply(kb), view=topics_view(kb), ephemeral=private)


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Roles(bot))
