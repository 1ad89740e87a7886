"""One error path for commands, components and events.

Whatever fails, the user gets a short, polite note (never silence, never a
traceback in the channel) and the log gets the full story with context.

Wiring (see bot.discord.app): ``tree.error(on_interaction_error)`` for slash
commands, :func:`guarded` around every component callback (discord.py logs
and swallows exceptions from DynamicItem callbacks, so they would otherwise
fail silently), and ``Bot.on_error`` → :func:`on_event_error` for events.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Awaitable, Callable

import discord
from discord import app_commands

from bot.discord.permissions import addressed, missing_to_post
from bot.discord.shutdown import cut_off_by_shutdown

log = logging.getLogger("pmbot.errors")

SORRY = "Sorry, something went wrong on my side. It has been logged; please try again in a moment."
OUT_OF_DATE = (
    "This command has changed since Discord last heard about it. Please try again in a minute; "
    "if it keeps happening, ask a moderator to run `python -m bot sync`."
)
NO_PINGS = discord.AllowedMentions.none()


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; its message is shown to the user as is."""


class NotOwner(app_commands.CheckFailure):
    """Raised by the owner check (commands that change the shared knowledge); its message is shown as is."""


class CooldownActive(app_commands.CheckFailure):
    """The user asked too much too quickly; carries how long to wait."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"You're asking quickly! Please wait {max(1, round(retry_after))}s before the next question.")


async def tell(interaction: discord.Interaction, text: str) -> None:
    """Sends an ephemeral note whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id, exc_info=True)
    except RuntimeError as exc:
        if not cut_off_by_shutdown(exc):
            raise
        log.info("could not tell the user about an error (interaction %s): shutting down", interaction.id)


def interaction_context(interaction: discord.Interaction) -> str:
    command = interaction.command
    what = f"/{command.qualified_name}" if command else (interaction.data or {}).get("custom_id", "?")
    return (
        f"{what} (interaction {interaction.id}) by user {interaction.user.id}"
        f" in guild {interaction.guild_id} channel {interaction.channel_id}"
    )


async def on_interaction_error(interaction: discord.Interaction, error: Exception) -> None:
    """The tree's and the components' error handler."""
    original = getattr(error, "original", error)
    if cut_off_by_shutdown(original):
        log.info("shutdown cut off %s", interaction_context(interaction))
        return
    if isinstance(original, (NotModerator, NotOwner, CooldownActive)):
        log.info("refused %s: %s", interaction_context(interaction), original)
        await tell(interaction, str(original))
        return
    if isinstance(original, app_commands.CheckFailure):
        log.info("check failed for %s: %s", interaction_context(interaction), original)
        await tell(interaction, "You can't use this command here.")
        return
    if isinstance(original, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
        log.warning("stale command %s: %s", interaction_context(interaction), original)
        await tell(interaction, OUT_OF_DATE)
        return
    log.error("interaction failed: %s", interaction_context(interaction), exc_info=original)
    await tell(interaction, SORRY)


async def guarded(interaction: discord.Interaction, handler: Callable[[discord.Interaction], Awaitable[Any]]) -> None:
    """Runs a component callback so that its errors reach :func:`on_interaction_error`."""
    try:
        await handler(interaction)
    except Exception as exc:  # noqa: BLE001 - this *is* the error handler
        await on_interaction_error(interaction, exc)


def event_context(event_method: str, args: tuple[Any, ...]) -> str:
    parts = [event_method]
    for arg in args:
        if isinstance(arg, discord.Message):
            parts.append(
                f"message {arg.id} by user {arg.author.id} in guild {arg.guild.id if arg.guild else None}"
                f" channel {arg.channel.id}"
            )
        elif isinstance(arg, discord.Interaction):
            parts.append(interaction_context(arg))
    return ", ".join(parts)


async def on_event_error(event_method: str, *args: Any, **kwargs: Any) -> None:
    """``Bot.on_error``: logs the exception being handled with context and tells the user if there is one."""
    exc = sys.exc_info()[1]  # discord.py calls on_error inside its except block
    if cut_off_by_shutdown(exc):
        log.info("shutdown cut off %s", event_context(event_method, args))
        return
    log.error("event handler failed: %s", event_context(event_method, args), exc_info=exc)
    message = next((a for a in args if isinstance(a, discord.Message)), None)
    if message is None or message.author.bot:
        return
    if isinstance(exc, discord.Forbidden) or missing_to_post(message.channel):
        return  # we may not speak there at all: Discord would refuse it, and count that against the bot
    try:
        await message.channel.send(**addressed(message, {"content": SORRY, "allowed_mentions": NO_PINGS}))
    except discord.HTTPException:
        log.warning("could not tell the user about an error (message %s)", message.id, exc_info=True)
    except RuntimeError as exc:
        if not cut_off_by_shutdown(exc):
            raise
        log.info("could not tell the user about an error (message %s): shutting down", message.id)
