"""Digest: every hour, each of this process's servers whose weekly digest is due gets it (see bot.discord.digest)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from bot.discord.digest import send_if_due

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.digest")


class Digest(commands.Cog):
    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.store is not None:  # `python -m bot sync` runs without a store, and posts nothing
            self.send_due.start()

    async def cog_unload(self) -> None:
        self.send_due.cancel()

    @tasks.loop(hours=1)
    async def send_due(self) -> None:
        for guild in list(self.bot.guilds):
            try:
                await send_if_due(self.bot, guild)
            except Exception:  # noqa: BLE001 - one server's failure must not keep the others' digests, or end the loop
                log.exception("could not send the weekly digest of server %s", guild.id)

    @send_due.before_loop
    async def _connected(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Digest(bot))
