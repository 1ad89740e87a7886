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
from datetime import datetime
from pathlib import Path
from typing import Any, Collection, Sequence

import aiohttp
import discord
import yarl
from discord.ext import commands

from bot.config import Settings
from bot.databases import describe, store_from_settings
from bot.discord import audit, reading
from bot.discord.answered_questions import VOTE_WINDOW, AnsweredQuestions, answer_key
from bot.discord.cooldown import GuildCooldowns
from bot.discord.errors import on_event_error, on_interaction_error
from bot.discord.health import HealthServer, Metrics
from bot.discord.shutdown import drain_handlers
from bot.discord.kb_replies import edit_refused_reply
from bot.keeper import KnowledgeKeeper
from bot.discord.render import DYNAMIC_ITEMS, NO_PINGS
from bot.discord.search import IntentSearch
from bot.fleet import Event, Fleet, LocalFleet, ProcessInfo, fleet_for
from bot.discord.dismissing import DismissPicker
from bot.discord.proposals import ProposalsPicker, ProposePicker
from bot.discord.teaching import TeachPicker
from bot.guild_settings import GuildSettingsCache
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.knowledge.watch import watch_knowledge
from bot.matching import MatchResult
from bot.recording import downvoted, unanswered
from bot.reply_tally import ReplyTally
from bot.service import KnowledgeService
from bot.store import Store, UnansweredQuestion

log = logging.getLogger("pmbot.discord")
# Shown under the bot's name in the member list ("Listening to /ask · /help"): how a member who never read the
# server's announcement finds out what pmbot is for. Sent with every shard's IDENTIFY.
PRESENCE = discord.Activity(type=discord.ActivityType.listening, name="/ask · /help")

EXTENSIONS = (
    "bot.discord.cogs.questions",
    "bot.discord.cogs.roles",
    "bot.discord.cogs.moderation",
    "bot.discord.cogs.config",
    "bot.discord.cogs.privacy",
    "bot.discord.cogs.usage",
    "bot.discord.cogs.digest",
)
#: How long a process keeps re-reading the shared folder after another one announced new knowledge
#: (a network filesystem may show the new file late) before it says loudly that it could not follow.
FOLLOW_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
# SIGTERM to exit within 10 s, as service managers expect: replies in flight get DRAIN_TIMEOUT s to
# finish, then closing the gateway connection gets CLOSE_TIMEOUT s.
DRAIN_TIMEOUT = 5.0
CLOSE_TIMEOUT = 3.0


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Makes discord.py talk to a Discord-compatible server (the e2e tests' fake, a proxy)."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def bot_intents(settings: Settings) -> discord.Intents:
    """Default intents, plus Message Content unless PMBOT_MESSAGE_CONTENT=false.

    Listening in help channels reads messages that do not mention the bot, and
    any server may add a help channel with ``/config help-channels add`` at any
    time, so the intent is asked for from the start rather than only when
    PMBOT_LISTEN_CHANNELS is set: changing intents needs a reconnect.

    Message Content is a *privileged* intent: it must also be switched on in
    the Developer Portal (your application → Bot → Privileged Gateway Intents
    → Message Content Intent), otherwise Discord closes the connection with
    4014, and bots in 100 or more servers need Discord's approval for it.
    Without it Discord still sends the content of DMs and of messages that
    mention the bot, which is all that answering mentions and DMs needs, so a
    host who wants no help channels can set PMBOT_MESSAGE_CONTENT=false.
    Slash commands and buttons need no privileged intent.
    """
    intents = discord.Intents.default()
    intents.message_content = settings.message_content
    return intents


# pmbot never joins voice channels: don't warn at every start that voice libraries are missing.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class PMBot(commands.AutoShardedBot):
    """pmbot on Discord: one cog per feature, loaded in ``setup_hook``.

    Sharded with discord.py's AutoShardedBot: PMBOT_SHARD_COUNT and
    PMBOT_SHARD_IDS make this process run exactly those shards of the whole
    bot; without them it runs every shard of Discord's recommended count.
    Processes that share a PostgreSQL database hear of each other's knowledge
    and settings changes through ``fleet`` (see :mod:`bot.fleet`).

    Holds what the cogs share: the settings, the live knowledge (a
    KnowledgeService, swapped atomically on reload) and the keeper every
    change to it goes through, the store for unanswered questions, votes and
    server settings (None only while syncing commands), each server's settings
    (``guild_settings``, over the environment's defaults) and the per-user
    question cooldowns, one per server.
    With PMBOT_AUTO_RELOAD it also watches the knowledge files and reloads
    them after edits settle. See :func:`bot_intents` for the intents it asks for.
    """

    def __init__(
        self,
        settings: Settings,
        service: KnowledgeService,
        store: Store | None = None,
        *,
        fleet: Fleet | None = None,
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
            activity=PRESENCE,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
        )
        self.settings = settings
        self.service = service
        self.store = store
        self.auto_sync = auto_sync
        self.guild_settings = GuildSettingsCache(store, settings)
        self.guild_settings.on_change = self._settings_changed
        self.cooldowns = GuildCooldowns(self._cooldown_limits)
        self.keeper = KnowledgeKeeper(
            service, keep=settings.knowledge_backups, max_bytes=settings.upload_max_bytes, on_change=self._knowledge_changed
        )
        self.fleet: Fleet = fleet or LocalFleet()
        self.me = ProcessInfo.here(settings.shard_ids or (), settings.shard_count, service.kb.version)
        self.knowledge_out_of_step: str | None = None  # why this process could not follow the others, for /kb status
        self.metrics = Metrics(self)
        self.tally = ReplyTally()
        self.answered = AnsweredQuestions()
        self._intent_search: IntentSearch | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None

    def intent_search(self) -> IntentSearch:
        """The autocomplete index of the knowledge served now, built at its first use and again after a change: one
        for every cog that autocompletes answers, as it holds every phrasing (about a megabyte)."""
        kb = self.service.kb
        if self._intent_search is None or self._intent_search.kb is not kb:
            self._intent_search = IntentSearch.build(kb)
        return self._intent_search

    def _cooldown_limits(self, guild_id: int | None) -> tuple[int, float]:
        effective = self.guild_settings.effective(guild_id)
        return effective.cooldown_rate, effective.cooldown_seconds

    async def setup_hook(self) -> None:
        configured = await self.guild_settings.load()
        log.info("%d server(s) have their own settings", configured)
        self.tree.error(on_interaction_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS, TeachPicker, ProposePicker, DismissPicker, ProposalsPicker)
        await self.fleet.start(self.me, self._heard_from_fleet)
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
        """Stops the file watcher and the fleet first, so no reload starts while the bot shuts down."""
        for task in (self._watcher, self._following):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watcher = self._following = None
        await self.fleet.stop()
        await super().close()

    # -- one knowledge for every process ------------------------------------------------

    async def _knowledge_changed(self, kb: KnowledgeBase) -> None:
        """Every change made here (command, upload, rollback, watcher) is announced to the other processes."""
        self.knowledge_out_of_step = None
        await self._report(kb)
        await self.fleet.announce({"kind": "knowledge", "version": kb.version})

    async def _report(self, kb: KnowledgeBase) -> None:
        self.me = dataclasses.replace(self.me, knowledge_version=kb.version)
        try:
            await self.fleet.update(self.me)
        except Exception:  # noqa: BLE001 - the heartbeat writes it again
            log.warning("could not record this process's knowledge version", exc_info=True)

    async def _settings_changed(self, guild_id: int) -> None:
        await self.fleet.announce({"kind": "settings", "guild_id": guild_id})

    async def _heard_from_fleet(self, event: Event | None) -> None:
        """Another process changed something (None: we may have missed changes, re-check all)."""
        if event is None or event.get("kind") == "settings":
            await self.guild_settings.reload()
            log.info("server settings reloaded after a change by another process")
        if event is None or event.get("kind") == "knowledge":
            version = None if event is None else str(event.get("version"))
            if version is not None and version == self.service.kb.version:
                return  # already serving it (the shared folder's own watcher got there first)
            if self._following is not None:
                self._following.cancel()  # a newer announcement replaces the one being followed
            self._following = asyncio.create_task(self._follow_knowledge(version), name="pmbot-follow-knowledge")

    async def _follow_knowledge(self, version: str | None) -> None:
        """Re-reads the shared folder until it holds ``version``; says loudly when it never does."""
        problem = ""
        for delay in FOLLOW_DELAYS if version is not None else (0.0,):
            await asyncio.sleep(delay)
            try:
                diff = await self.keeper.follow()
            except KnowledgeError as exc:
                problem = f"the files have {len(exc.problems)} problem(s): {exc.problems[0]}"
                continue
            if diff is not None:
                log.info("knowledge changed by another process, now serving %s: %s", self.service.kb.version, diff.summary())
                await self._report(self.service.kb)
            if version is None or self.service.kb.version == version:
                self.knowledge_out_of_step = None
                return
            problem = f"its folder holds version {self.service.kb.version}"
        self.knowledge_out_of_step = (
            f"another process serves knowledge {version}, but this one cannot load it ({problem}); every process "
            "needs PMBOT_KNOWLEDGE to be the same shared folder"
        )
        log.error("%s (here %s); still serving %s", self.knowledge_out_of_step, self.service.path, self.service.kb.version)

    async def on_shard_ready(self, shard_id: int) -> None:
        """Records the shards actually run (Discord's recommended count is known only once connected)."""
        shards = tuple(sorted(self.shards))
        if (shards, self.shard_count) != (self.me.shard_ids, self.me.shard_count):
            self.me = dataclasses.replace(self.me, shard_ids=shards, shard_count=self.shard_count)
            await self._report(self.service.kb)

    async def knowledge_edited(self) -> None:
        """The watcher's callback: serve the edited files like /kb reload would, or keep the last good knowledge.

        Either way the moderator logs hear of it (see :mod:`bot.discord.audit`): a reload changes
        every server's answers, and whoever saved a broken file is not looking at the bot's log.
        """
        try:
            diff = await self.keeper.reload_if_changed()
        except KnowledgeError as exc:
            log.warning(
                "the knowledge files changed on disk but have %d problem(s); still serving the last good knowledge:\n  %s",
                len(exc.problems),
                "\n  ".join(map(str, exc.problems)),
            )
            await audit.knowledge_changed(
                self, f"Not loaded: {WATCHER}; still serving the last good knowledge.", edit_refused_reply(exc, self.service.path)
            )
            return
        if diff is None:
            log.debug("knowledge files touched but unchanged (or already served): nothing to reload")
            return
        log.info("knowledge reloaded after an edit on disk: %s", diff.summary())
        await audit.knowledge_changed(self, f"Knowledge reloaded after {WATCHER}: {diff.summary()}")

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
            "connected as %s (%s) with shard(s) %s of %s in %d guild(s); %d intents loaded; listening in %d help channel(s)",
            self.user,
            self.user.id,
            ",".join(map(str, sorted(self.shards))),
            self.shard_count,
            len(self.guilds),
            len(kb.intents),
            len(self.settings.listen_channel_ids),
        )
        missing = [c for c in self.settings.listen_channel_ids if self.get_channel(c) is None]
        if missing and self.guilds:
            log.warning("PMBOT_LISTEN_CHANNELS has channels I cannot see: %s", ", ".join(map(str, missing)))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the Questions cog listens to messages instead."""

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: discord.app_commands.Command[Any, ..., Any] | discord.app_commands.ContextMenu
    ) -> None:
        """Counted for /metrics: which commands a host's servers use (and which nobody does)."""
        self.metrics.commands.labels(command.qualified_name).inc()

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        await on_event_error(event_method, *args, **kwargs)

    async def record_unanswered(
        self, result: MatchResult, *, guild_id: int | None, channel_id: int | None, user_id: int | None,
        message_id: int | None = None,
    ) -> None:
        """Logs a suggest/fallback so moderators can see what the knowledge is missing; never fails the reply."""
        await self._keep(unanswered(
            result, guild_id=guild_id, channel_id=channel_id, user_id=self._asker(user_id), message_id=message_id,
        ))

    def remember_answer(
        self, key: int, result: MatchResult, *, guild_id: int | None, channel_id: int | None, user_id: int,
        message_id: int | None = None, asked_at: datetime | None = None,
    ) -> None:
        """Keeps an answer's question for a while (`key`: see answered_questions.answer_key), for a 👎 on it."""
        self.answered.remember(key, downvoted(
            result, guild_id=guild_id, channel_id=channel_id, user_id=self._asker(user_id), message_id=message_id,
            asked_at=asked_at,
        ))

    def _asker(self, user_id: int | None) -> int | None:
        """Who asked, kept only where the host stores it (PMBOT_STORE_USER_IDS): the store drops it too, but a
        question held in memory for a 👎 must not carry it either."""
        return user_id if self.settings.store_user_ids else None

    async def record_downvote(self, answer: discord.Message) -> None:
        """A 👎 on an answer puts its question in the gaps list, once an answer."""
        await self._recall(answer)
        await self._keep(self.answered.take(answer))

    async def record_upvote(self, answer: discord.Message) -> None:
        """A 👍 that replaces the last 👎 on an answer takes its question out of the gaps list again: a member who
        clicked 👎 by mistake, or changed their mind, leaves no gap behind. The question of an answer given before
        a restart is read again, as a 👎 stored before the restart may have made a gap of it (a withdrawal that
        finds no gap deletes nothing)."""
        question = self.answered.stored(answer)
        if question is None and not self.answered.knows(answer):
            await self._recall(answer)
            question = self.answered.question(answer)
        if self.store is None or question is None:
            return
        try:
            if await self.store.withdraw_downvoted(question, answer.id):
                self.answered.give_back(answer)
        except Exception:  # noqa: BLE001 - the vote is recorded; the gap stays until a moderator dismisses it
            log.exception("could not take back the gap of a 👎 changed to 👍")

    async def _recall(self, answer: discord.Message) -> None:
        """Remembers the question of an answer this process gave before a restart (within the vote window), read
        again from its message: the bot restarts on every deploy, and members vote as they read, hours later."""
        if self.answered.knows(answer) or discord.utils.utcnow() - answer.created_at > VOTE_WINDOW:
            return
        if (found := await reading.read_again(self, answer)) is None:
            return
        self.answered.remember(answer_key(answer), downvoted(
            found.now.result, guild_id=found.guild_id, channel_id=found.channel_id, user_id=self._asker(found.asker),
            message_id=found.message_id, asked_at=found.asked_at,
        ))

    async def _keep(self, question: UnansweredQuestion | None) -> None:
        """`question` None: answered, or nothing to learn from (emoji, punctuation)."""
        if self.store is None or question is None:
            return
        try:
            await self.store.record_unanswered(question)
        except Exception:  # noqa: BLE001 - losing one analytics row must not lose the answer
            log.exception("could not record an unanswered question")

    async def forget_questions(self, message_ids: Collection[int]) -> None:
        """Drops the questions kept from these messages (deleted, or edited into one the bot answers)."""
        if self.store is None:
            return
        try:
            await self.store.forget_questions(message_ids)
        except Exception:  # noqa: BLE001 - the next retention purge takes them
            log.exception("could not forget the questions of %d deleted or answered message(s)", len(message_ids))


WATCHER = "an edit of the knowledge files on disk (file watcher)"


def _names(synced: Sequence[Any]) -> str:
    """As members find them: "/ask", and a message's menu as "Apps → Ask pmbot"."""
    shown = (f"/{c.name}" if c.type == discord.AppCommandType.chat_input else f"Apps → {c.name}" for c in synced)
    return ", ".join(shown) or "(none)"


# -- running -------------------------------------------------------------------


BAD_TOKEN = (
    "Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal "
    "(your application → Bot → Reset Token) and put it in DISCORD_TOKEN; it is not the application id or secret."
)
NEEDS_MESSAGE_CONTENT = (
    "Discord refused the Message Content intent, which listening in help channels (PMBOT_LISTEN_CHANNELS, "
    "/config help-channels) needs. Enable it in the Developer Portal (your application → Bot → Privileged Gateway "
    "Intents → Message Content Intent), or set PMBOT_MESSAGE_CONTENT=false to answer only mentions, DMs and "
    "slash commands."
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
    service = KnowledgeService(knowledge or settings.knowledge_path, settings.index_cache(), settings.embedding_model)
    return asyncio.run(_serve(settings, service))


async def _serve(settings: Settings, service: KnowledgeService) -> int:
    store = store_from_settings(settings)
    try:
        await store.open()  # creates the SQLite file's parent folder; migrates either database
    except Exception as exc:  # noqa: BLE001 - any reason the database cannot be used is fatal here
        return _fatal(f"cannot open the database {describe(settings)}: {exc}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C still raises KeyboardInterrupt
            pass
    bot = PMBot(settings, service, store, fleet=fleet_for(store))
    health = None
    if settings.health_port is not None:
        health = HealthServer(bot, bot.metrics, settings.health_host, settings.health_port)
        try:
            await health.start()
        except OSError as exc:
            await store.close()
            return _fatal(f"cannot serve /healthz on {settings.health_host}:{settings.health_port} (PMBOT_HEALTH_PORT): {exc}")
    try:
        return await _run_until_stopped(bot, settings.discord_token or "", stop)
    finally:
        if health is not None:
            await health.stop()
        await store.close()
        log.info("stopped")


async def _run_until_stopped(bot: PMBot, token: str, stop: asyncio.Event) -> int:
    async with bot:
        runner = asyncio.create_task(bot.start(token), name="pmbot-discord")
        stopper = asyncio.create_task(stop.wait(), name="pmbot-stop")
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper.done() and not runner.done():
            log.info("shutting down")
            await drain_handlers(DRAIN_TIMEOUT)
            await bot.close()
            try:
                await asyncio.wait_for(runner, CLOSE_TIMEOUT)
            except asyncio.TimeoutError:
                log.warning("the Discord connection did not close within %.0fs", CLOSE_TIMEOUT)
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
    service = KnowledgeService(knowledge or settings.knowledge_path, settings.index_cache(), settings.embedding_model)
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
