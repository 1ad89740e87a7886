"""One extension per feature, each ending in ``async def setup(bot)``; loaded by PMBot.setup_hook."""
