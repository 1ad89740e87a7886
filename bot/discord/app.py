"""The Discord front end: the bot, its start-up, shutdown and command sync.

``run_bot`` is what ``python -m bot run`` calls when DISCORD_TOKEN is set;
``sync_commands`` is ``python -m bot sync [--guild ID]``.

Slash commands are registered with Discord only on purpose: automatically
for the configured development guild (instant, and cheap to redo), and
globally only through ``python -m bot sync``. Discord limits command
creation to 200 a day per guild, so syncing blindly on every start is how
bots lock themselves out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

import aiohttp
import discord
import yarl
from discord.ext import commands

from bot.config import Settings
from bot.discord.cooldown import QuestionCooldown
from bot.discord.errors import on_event_error, on_interaction_error
from bot.discord.kb_replies import edit_refused_reply
from bot.keeper import KnowledgeKeeper
from bot.discord.render import DYNAMIC_ITEMS, NO_PINGS, to_embed
from bot.knowledge import KnowledgeError
from bot.knowledge.watch import watch_knowledge
from bot.matching import MatchResult
from bot.recording import unanswered
from bot.replies import Reply
from bot.service import KnowledgeService
from bot.store import SqliteStore, Store

log = logging.getLogger("pmbot.discord")

EXTENSIONS = (
    "bot.discord.cogs.questions",
    "bot.discord.cogs.roles",
    "bot.discord.cogs.moderation",
)
SHUTDOWN_TIMEOUT = 10.0


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Makes discord.py talk to a Discord-compatible server (the e2e tests' fake, a proxy)."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def bot_intents(settings: Settings) -> discord.Intents:
    """Default intents, plus Message Content only when help channels are configured.

    Message Content is a *privileged* intent: it must also be switched on in
    the Developer Portal (your application → Bot → Privileged Gateway Intents
    → Message Content Intent), otherwise Discord closes the connection with
    4014, and bots in 100 or more servers need Discord's approval for it.
    Without it Discord still sends the content of DMs and of messages that
    mention the bot, which is all that answering mentions and DMs needs; only
    listening in help channels (PMBOT_LISTEN_CHANNELS) reads other messages.
    Slash commands and buttons need no privileged intent.
    """
    intents = discord.Intents.default()
    intents.message_content = bool(settings.listen_channel_ids)
    return intents


# pmbot never joins voice channels: don't warn at every start that voice libraries are missing.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class PMBot(commands.Bot):
    """pmbot on Discord: one cog per feature, loaded in ``setup_hook``.

    Holds what the cogs share: the settings, the live knowledge (a
    KnowledgeService, swapped atomically on reload) and the keeper every
    change to it goes through, the store for unanswered questions and votes
    (None only while syncing commands), and the per-user question cooldown.
    With PMBOT_AUTO_RELOAD it also watches the knowledge files and reloads
    them after edits settle. See :func:`bot_intents` for the intents it asks for.
    """

    def __init__(
        self,
        settings: Settings,
        service: KnowledgeService,
        store: Store | None = None,
        *,
        auto_sync: bool = True,
    ) -> None:
        super().__init__(
            # No prefix commands: a mention is a question, never a command invocation. An empty
            # prefix list matches nothing (and, unlike a callable, does not make discord.py warn
            # about the Message Content intent); on_message below never processes commands anyway.
            command_prefix=(),
            help_command=None,
            intents=bot_intents(settings),
            allowed_mentions=NO_PINGS,
        )
        self.settings = settings
        self.service = service
        self.store = store
        self.auto_sync = auto_sync
        self.cooldown = QuestionCooldown(settings.cooldown_rate, settings.cooldown_seconds)
        self.keeper = KnowledgeKeeper(service, keep=settings.knowledge_backups, max_bytes=settings.upload_max_bytes)
        self._watcher: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        self.tree.error(on_interaction_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        if self.settings.auto_reload:
            self._watcher = asyncio.create_task(
                watch_knowledge(
                    self.service.path, self.knowledge_edited, settle=self.settings.auto_reload_delay, check_first=True
                ),
                name="pmbot-knowledge-watch",
            )
        if self.auto_sync and self.settings.dev_guild_id:
            await self._sync_dev_guild(self.settings.dev_guild_id)

    async def close(self) -> None:
        """Stops the file watcher first, so no reload starts while the bot shuts down."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await super().close()

    async def knowledge_edited(self) -> None:
        """The watcher's callback: serve the edited files like /kb reload would, or keep the last good knowledge.

        A broken edit is logged with its FILE:LINE problems and, when PMBOT_MOD_LOG_CHANNEL is set,
        posted there, because whoever saved the file is not looking at the bot's log.
        """
        try:
            diff = await self.keeper.reload_if_changed()
        except KnowledgeError as exc:
            log.warning(
                "the knowledge files changed on disk but have %d problem(s); still serving the last good knowledge:\n  %s",
                len(exc.problems),
                "\n  ".join(map(str, exc.problems)),
            )
            await self._post_to_mod_log(edit_refused_reply(exc, self.service.path))
            return
        if diff is None:
            log.debug("knowledge files touched but unchanged (or already served): nothing to reload")
            return
        log.info("knowledge reloaded after an edit on disk: %s", diff.summary())

    async def _post_to_mod_log(self, reply: Reply) -> None:
        channel_id = self.settings.mod_log_channel_id
        if channel_id is None:
            return
        try:
            await self.get_partial_messageable(channel_id).send(embed=to_embed(reply), allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not post to the moderator log channel %s (PMBOT_MOD_LOG_CHANNEL): %s", channel_id, exc)

    async def _sync_dev_guild(self, guild_id: int) -> None:
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.error(
                "could not sync commands to the development guild %s (%s); is the bot in it, invited with the "
                "applications.commands scope? Carrying on without syncing.",
                guild_id,
                exc,
            )
            return
        log.info("synced %d commands to development guild %s: %s", len(synced), guild_id, _names(synced))

    async def on_ready(self) -> None:
        assert self.user is not None
        kb = self.service.kb
        log.info(
            "connected as %s (%s) in %d guild(s); %d intents loaded; listening in %d help channel(s)",
            self.user,
            self.user.id,
            len(self.guilds),
            len(kb.intents),
            len(self.settings.listen_channel_ids),
        )
        missing = [c for c in self.settings.listen_channel_ids if self.get_channel(c) is None]
        if missing and self.guilds:
            log.warning("PMBOT_LISTEN_CHANNELS has channels I cannot see: %s", ", ".join(map(str, missing)))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the Questions cog listens to messages instead."""

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        await on_event_error(event_method, *args, **kwargs)

    async def record_unanswered(
        self, result: MatchResult, *, guild_id: int | None, channel_id: int | None, user_id: int | None
    ) -> None:
        """Logs a suggest/fallback so moderators can see what the knowledge is missing; never fails the reply."""
        if self.store is None:
            return
        question = unanswered(
            result,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id if self.settings.store_user_ids else None,
        )
        if question is None:  # answered, or nothing to learn from (emoji, punctuation)
            return
        try:
            await self.store.record_unanswered(question)
        except Exception:  # noqa: BLE001 - losing one analytics row must not lose the answer
            log.exception("could not record an unanswered question")


def _names(synced: Sequence[Any]) -> str:
    return ", ".join(f"/{c.name}" for c in synced) or "(none)"


# -- running -------------------------------------------------------------------


BAD_TOKEN = (
    "Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal "
    "(your application → Bot → Reset Token) and put it in DISCORD_TOKEN; it is not the application id or secret."
)
NEEDS_MESSAGE_CONTENT = (
    "Discord refused the Message Content intent, which listening in help channels (PMBOT_LISTEN_CHANNELS) needs. "
    "Enable it in the Developer Portal (your application → Bot → Privileged Gateway Intents → Message Content "
    "Intent), or unset PMBOT_LISTEN_CHANNELS to answer only mentions, DMs and slash commands."
)


def _fatal(message: str) -> int:
    """Says why the bot cannot run, on stderr (where the log goes too), and gives the exit code."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def run_bot(settings: Settings, knowledge: Path | str | None = None) -> int:
    """Runs the bot until SIGTERM/SIGINT or a fatal error; returns the process exit code.

    Raises KnowledgeError (handled by the CLI) when the knowledge is invalid at start.
    """
    if not settings.discord_token:
        return _fatal("DISCORD_TOKEN is not set.")
    point_discord_at(settings.api_base, settings.gateway_url)
    service = KnowledgeService(knowledge or settings.knowledge_path, settings.embedding_model)
    return asyncio.run(_serve(settings, service))


async def _serve(settings: Settings, service: KnowledgeService) -> int:
    store = SqliteStore(settings.database_path, store_user_ids=settings.store_user_ids)
    try:
        await store.open()  # creates the parent folder
    except Exception as exc:  # noqa: BLE001 - any reason the database cannot be used is fatal here
        return _fatal(f"cannot open the database {settings.database_path}: {exc}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C still raises KeyboardInterrupt
            pass
    bot = PMBot(settings, service, store)
    try:
        return await _run_until_stopped(bot, settings.discord_token or "", stop)
    finally:
        await store.close()
        log.info("stopped")


async def _run_until_stopped(bot: PMBot, token: str, stop: asyncio.Event) -> int:
    async with bot:
        runner = asyncio.create_task(bot.start(token), name="pmbot-discord")
        stopper = asyncio.create_task(stop.wait(), name="pmbot-stop")
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper.done() and not runner.done():
            log.info("shutting down")
            await bot.close()
            try:
                await asyncio.wait_for(runner, SHUTDOWN_TIMEOUT)
            except asyncio.TimeoutError:
                log.warning("the Discord connection did not close within %.0fs", SHUTDOWN_TIMEOUT)
            except Exception:  # noqa: BLE001 - we are closing anyway
                log.debug("error while closing", exc_info=True)
            return 0
        stopper.cancel()
        try:
            runner.result()
        except discord.LoginFailure:
            return _fatal(BAD_TOKEN)
        except discord.PrivilegedIntentsRequired:
            return _fatal(NEEDS_MESSAGE_CONTENT)
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                return _fatal(BAD_TOKEN)
            return _fatal(f"the Discord gateway closed the connection ({exc.code}): {exc.reason}")
        except discord.HTTPException as exc:
            return _fatal(f"Discord answered the login with an error: {exc}")
        except (OSError, aiohttp.ClientError) as exc:
            return _fatal(f"cannot reach Discord at {discord.http.Route.BASE}: {exc}")
        return 0


# -- command sync ----------------------------------------------------------------


def sync_commands(
    settings: Settings, knowledge: Path | str | None = None, guild_id: int | None = None, *, clear: bool = False
) -> int:
    """``python -m bot sync [--guild ID] [--clear]``: registers (or removes) the slash commands, prints them, exits."""
    if not settings.discord_token:
        return _fatal("DISCORD_TOKEN is not set; syncing commands needs the bot's token.")
    point_discord_at(settings.api_base, settings.gateway_url)
    service = KnowledgeService(knowledge or settings.knowledge_path, settings.embedding_model)
    return asyncio.run(_sync(settings, service, guild_id, clear))


async def _sync(settings: Settings, service: KnowledgeService, guild_id: int | None, clear: bool) -> int:
    # A sync is over in a moment: no file watcher.
    bot = PMBot(dataclasses.replace(settings, auto_reload=False), service, store=None, auto_sync=False)
    async with bot:
        try:
            await bot.login(settings.discord_token or "")  # HTTP only: no gateway connection needed
        except discord.LoginFailure:
            return _fatal(BAD_TOKEN)
        except (OSError, aiohttp.ClientError) as exc:
            return _fatal(f"cannot reach Discord at {discord.http.Route.BASE}: {exc}")
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if clear:
            bot.tree.clear_commands(guild=guild)
        elif guild is not None:
            bot.tree.copy_global_to(guild=guild)
        try:
            synced = await bot.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            return _fatal(f"Discord refused the command sync: {exc}")
    where = "globally (may take a while to show up in every server)" if guild_id is None else f"to guild {guild_id}"
    if clear:
        print(f"Removed pmbot's commands {'globally' if guild_id is None else f'from guild {guild_id}'}.")
    else:
        print(f"Synced {len(synced)} commands {where}: {_names(synced)}")
    return 0
