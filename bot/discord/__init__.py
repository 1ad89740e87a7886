"""The Discord front end: a commands.Bot with one cog per feature, on top of the Discord-free core.

Only ``bot.cli`` imports this package, and only when DISCORD_TOKEN is set, so
the console, ``ask``, ``validate`` and ``eval`` never need discord.py.
"""
