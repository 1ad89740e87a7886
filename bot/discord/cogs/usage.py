"""Usage: each server's reply counts, kept for ``/kb stats`` (see :mod:`bot.reply_tally`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from bot.reply_tally import FLUSH_EVERY_SECONDS

if TYPE_CHECKING:
    from bot.discord.app import PMBot


class Usage(commands.Cog):
    """Adds this process's reply counts to the store every minute, and once more when the bot shuts down."""

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.store is not None:  # `python -m bot sync` runs without a store, and replies to nothing
            self.add_counts.start()

    async def cog_unload(self) -> None:
        self.add_counts.cancel()
        if self.bot.store is not None:
            await self.bot.tally.flush(self.bot.store)

    @tasks.loop(seconds=FLUSH_EVERY_SECONDS)
    async def add_counts(self) -> None:
        assert self.bot.store is not None
        await self.bot.tally.flush(self.bot.store)


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Usage(bot))
