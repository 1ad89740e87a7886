"""Moderation: the /kb group for people who look after the knowledge.

What it offers follows the moderator workflow in the README: find what pmbot
misses (gaps, feedback) and clear what is not its to answer (the gaps'
dismiss picker), see why a question matched what it matched (why),
change the knowledge safely (upload, rollback, reload, download) and check
what is loaded (status). Every change goes through the bot's
:class:`~bot.keeper.KnowledgeKeeper`, the same path the file watcher
uses; what the replies say is in :mod:`bot.discord.kb_replies`. Replies are
ephemeral: gaps quote what users asked, and the rest is of use only to the
moderator who asked.

Who may use it (see :mod:`bot.discord.checks`): every subcommand is for this
server's moderators and pmbot's owners, checked by :class:`ModeratorGroup`;
``default_permissions=Manage Server`` only hides it from others in Discord's
UI. The commands that change the shared knowledge every server answers from
(reload, upload, teach, rollback) are :func:`owner_only` on top, and each change is
posted to every moderator log (:mod:`bot.discord.audit`). Gaps and feedback
show this server's questions and votes only, plus the DMs' for owners.

To add a subcommand, add a method decorated with ``@kb.command(...)`` to
:class:`Moderation`; it is checked like the others. Autocomplete is the one
exception: Discord's autocomplete requests skip the group check, so an
autocomplete callback must check :func:`is_moderator` itself.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING, Any, Sequence

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits, reports
from bot.background import in_background_thread
from bot.discord import audit, kb_replies, teaching
from bot.discord.checks import (
    ModeratorGroup,
    describe_user,
    is_moderator,
    is_owner,
    may_change_knowledge,
    owner_only,
    report_scope,
)
from bot.discord.dismissing import DismissPicker
from bot.discord.proposals import ProposalsPicker, ProposePicker, server_name
from bot.discord.render import NO_PINGS, to_embed
from bot.knowledge import KnowledgeError, knowledge_files
from bot.knowledge.loader import YAML_SUFFIXES
from bot.knowledge.teach import PHRASING_MAX, close_intent_ids, likely_intents
from bot.matching.explain import explain
from bot.matching.normalise import MAX_INPUT_CHARS
from bot.replies import Reply
from bot.store import Scope, Store

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.moderation")
PREVIEW_DAYS = 30  # an upload's preview reads the gaps of the period /kb gaps shows by default


async def respond(interaction: discord.Interaction, reply: Reply | None = None, *, content: str | None = None,
                  file: discord.File | None = None, view: discord.ui.View | None = None) -> None:
    """A private moderator reply: the response, or the follow-up once the interaction was deferred."""
    kwargs: dict[str, Any] = {"ephemeral": True, "allowed_mentions": NO_PINGS}
    if reply is not None:
        kwargs["embed"] = to_embed(reply)
    if content is not None:
        kwargs["content"] = content
    if file is not None:
        kwargs["file"] = file
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


def rows_of(items: Sequence[discord.ui.Item[Any] | None]) -> list[discord.ui.View]:
    """The items, one to a row and five rows to a message (Discord's limit), leaving out the Nones."""
    present = [item for item in items if item is not None]
    views = []
    for start in range(0, len(present), limits.ACTION_ROWS):
        view = discord.ui.View(timeout=None)
        for row, item in enumerate(present[start : start + limits.ACTION_ROWS]):
            item.row = row
            view.add_item(item)
        views.append(view)
    return views


async def think(interaction: discord.Interaction) -> None:
    """Defers privately: Discord wants an answer within 3 s, and this work (disk, database, indexing) may take longer."""
    await interaction.response.defer(ephemeral=True, thinking=True)


class Moderation(commands.Cog):
    kb = ModeratorGroup(
        name="kb",
        description="Look after pmbot's knowledge (moderators)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    def _store(self) -> Store:
        store = self.bot.store
        if store is None:  # only `python -m bot sync` runs without one, and it answers no interactions
            raise RuntimeError("pmbot is running without its database")
        return store

    # -- find the gaps -------------------------------------------------------------------

    @kb.command(name="gaps", description="The questions pmbot could not answer, most frequent first")
    @app_commands.describe(days="How many days back to look (default 30)", limit="How many to list (default 10)",
                           downvoted="Only the questions whose answer a member voted 👎",
                           spreadsheet="All of them as a CSV file, to sort and share (the limit does not apply)")
    async def gaps(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, 3650] = 30,
        limit: app_commands.Range[int, 1, 25] = 10,
        downvoted: bool = False,
        spreadsheet: bool = False,
    ) -> None:
        await think(interaction)
        if spreadsheet:
            await self._gaps_file(interaction, days, downvoted)
            return
        matcher = self.bot.service.matcher
        found = await reports.gaps(self._store(), days, limit, await report_scope(interaction), matcher,
                                   downvoted_only=downvoted)
        can_teach = await may_change_knowledge(interaction)
        picker = teaching.TeachPicker if can_teach else ProposePicker  # moderators propose what only owners may teach
        views = rows_of([*(picker.for_gap(matcher, n, gap) for n, gap in enumerate(found, 1)), DismissPicker.for_gaps(found)])
        listed = kb_replies.gaps_reply(found, days, can_teach=can_teach, downvoted=downvoted)
        await respond(interaction, listed, view=views[0] if views else None)
        for n, view in enumerate(views[1:], 1):
            await respond(interaction, content=f"More for these questions ({n + 1} of {len(views)}):", view=view)

    async def _gaps_file(self, interaction: discord.Interaction, days: int, downvoted: bool) -> None:
        """Every gap of the period as a file: a busy server's moderators triage hundreds, which a message of ten
        with pickers does not serve."""
        found = await reports.gaps(self._store(), days, reports.EVERY, await report_scope(interaction),
                                   self.bot.service.matcher, downvoted_only=downvoted)
        data, held = reports.gaps_csv(found, max_bytes=interaction.filesize_limit)
        kind = "answers voted 👎" if downvoted else "gaps"
        text = f"All {held} {kind} of the last {days} days here, most asked first."
        if held < len(found):
            text = (f"The {held} most asked of {len(found)} {kind} of the last {days} days here: all of them would be "
                    "more than Discord lets me attach.")
        await respond(interaction, content=text, file=discord.File(io.BytesIO(data), filename=f"pmbot-gaps-{days}d.csv"))

    @kb.command(name="feedback", description="Answers ranked by their share of 👎 votes")
    @app_commands.describe(days="How many days back to look (default 30)")
    async def feedback(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        await think(interaction)
        rows = await reports.feedback(self._store(), days, await report_scope(interaction))
        await respond(interaction, kb_replies.feedback_reply(rows, days))

    @kb.command(name="stats", description="How many questions pmbot answered here, and which answers it gave most")
    @app_commands.describe(days="How many days back to look (default 30)")
    async def stats(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        await think(interaction)
        assert interaction.guild_id is not None  # the group is guild-only
        store = self._store()
        await self.bot.tally.flush(store)  # this process's latest replies count too; other processes add theirs each minute
        # This server's own numbers, owners included: replies in DMs are not counted, so no scope would add them.
        report = await reports.usage(store, days, Scope.guild(interaction.guild_id))
        await respond(interaction, kb_replies.usage_reply(report, days, self.bot.service.kb))

    @kb.command(name="why", description="Why pmbot answers a question as it does: top intents, scores, thresholds")
    @app_commands.describe(question="A question, as a user would ask it")
    async def why(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, MAX_INPUT_CHARS]) -> None:
        # Not recorded as unanswered: a moderator testing the knowledge is not a gap in it.
        matcher = self.bot.service.matcher  # one snapshot, even if a reload lands meanwhile
        await respond(interaction, kb_replies.why_reply(explain(matcher.kb, matcher.match(question))))

    # -- change the knowledge --------------------------------------------------------------

    async def _audit(self, interaction: discord.Interaction, what: str) -> None:
        where = f" in {interaction.guild.name}" if interaction.guild else ""
        await audit.knowledge_changed(self.bot, f"{what}, by {describe_user(interaction.user)}{where}.")

    @kb.command(name="reload", description="Re-read the knowledge files; on any problem the old knowledge keeps serving (owners)")
    @owner_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        await think(interaction)
        try:
            diff = await self.bot.keeper.reload()
        except KnowledgeError as exc:
            log.warning("reload by user %s failed with %d problem(s)", interaction.user.id, len(exc.problems))
            reply = kb_replies.reload_failed_reply(exc, self.bot.service.path)
        else:
            reply = kb_replies.reload_reply(diff, self.bot.service.kb)
            await self._audit(interaction, f"Knowledge reloaded ({diff.summary()})")
        await respond(interaction, reply)

    @kb.command(name="proposals", description="Gaps that servers' moderators proposed to teach: teach or turn them down (owners)")
    @owner_only()
    async def proposals(self, interaction: discord.Interaction) -> None:
        await think(interaction)
        waiting = await reports.proposals(self._store(), self.bot.service.matcher)
        shown = waiting[: limits.SELECT_OPTIONS]  # as many as a picker holds; settling them brings on the next
        servers = [server_name(self.bot, p.guild_id) for p in shown]
        views = rows_of([ProposalsPicker.for_proposals(action, shown) for action in ("teach", "decline")])
        reply = kb_replies.proposals_reply(shown, servers, waiting=len(waiting))
        await respond(interaction, reply, view=views[0] if views else None)

    @kb.command(name="upload", description="Add or replace a knowledge file: validated in full, previous version kept (owners)")
    @app_commands.describe(file="A .yaml knowledge file; it replaces the file of the same name",
                           preview="True: change nothing; say what it would change, and which gaps asked here it answers")
    @owner_only()
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment, preview: bool = False) -> None:
        name, limit = file.filename, self.bot.settings.upload_max_bytes
        if not name.lower().endswith(YAML_SUFFIXES):
            await respond(interaction, content=f"{kb_replies.inline_code(name)} is not a knowledge file: upload a `.yaml` file.")
            return
        if file.size > limit:  # refused before downloading a byte of it
            await respond(interaction, content=f"{kb_replies.inline_code(name)} is {file.size:,} bytes; the limit is {limit:,}.")
            return
        await think(interaction)
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            log.warning("could not download upload %s from Discord: %s", name, exc)
            await respond(interaction, content="I could not download that file from Discord; nothing was changed. Please try again.")
            return
        if preview:
            await self._preview(interaction, name, data)
            return
        try:
            backup, diff = await self.bot.keeper.upload(name, data)
        except KnowledgeError as exc:
            log.info("upload of %s by user %s refused with %d problem(s)", name, interaction.user.id, len(exc.problems))
            await respond(interaction, kb_replies.upload_refused_reply(exc, self.bot.service.path))
            return
        await respond(interaction, kb_replies.uploaded_reply(name, backup.existed, diff, self.bot.service.kb))
        await self._audit(interaction, f"Knowledge file {name} {'replaced' if backup.existed else 'added'} by upload ({diff.summary()})")

    async def _preview(self, interaction: discord.Interaction, name: str, data: bytes) -> None:
        """An upload checked, indexed and read against this server's most asked gaps (and the DMs', for owners),
        with nothing written: whether a change fixes what members asked, before they see it."""
        try:
            preview = await self.bot.keeper.preview(name, data)
        except KnowledgeError as exc:
            await respond(interaction, kb_replies.upload_refused_reply(exc, self.bot.service.path, preview=True))
            return
        found = await reports.gaps(self._store(), PREVIEW_DAYS, reports.PREVIEW_GAPS, await report_scope(interaction),
                                   self.bot.service.matcher)
        fixed = await in_background_thread(reports.newly_answered, found, preview.matcher)
        await respond(interaction, kb_replies.upload_preview_reply(name, preview, fixed, len(found), PREVIEW_DAYS))

    @kb.command(name="teach", description="Teach pmbot a question: add it as a phrasing of an intent (owners)")
    @app_commands.describe(question="The question as people ask it", intent="The intent that answers it (start typing its id or title)")
    @owner_only()
    async def teach(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, PHRASING_MAX],
        intent: app_commands.Range[str, 1, 100],
    ) -> None:
        await think(interaction)
        await respond(interaction, await teaching.teach(self.bot, interaction, question, intent))

    @teach.autocomplete("intent")
    async def teach_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not await may_change_knowledge(interaction):
            return []  # autocomplete skips every check
        matcher = self.bot.service.matcher
        kb = matcher.kb
        typed = current.casefold().strip()
        if typed:
            ids = [i for i, it in kb.intents.items() if typed in i or typed in it.title.casefold()]
            ids += close_intent_ids(kb, typed)
        else:  # nothing typed yet: the intents closest to the question
            question = str(getattr(interaction.namespace, "question", None) or "")
            ids = likely_intents(matcher, question, limits.AUTOCOMPLETE_CHOICES) if question else list(kb.intents)
        return [
            app_commands.Choice(name=limits.clip(f"{kb.intents[i].title} ({i})", limits.AUTOCOMPLETE_NAME), value=i)
            for i in list(dict.fromkeys(ids))[: limits.AUTOCOMPLETE_CHOICES]
        ]

    @kb.command(name="rollback", description="Undo the last upload or teach: restore the file it replaced, or remove a file it added (owners)")
    @owner_only()
    async def rollback(self, interaction: discord.Interaction) -> None:
        await think(interaction)
        try:
            backup, diff = await self.bot.keeper.rollback()
        except FileNotFoundError:
            reply = kb_replies.NOTHING_TO_ROLL_BACK
        except KnowledgeError as exc:
            log.warning("rollback by user %s refused with %d problem(s)", interaction.user.id, len(exc.problems))
            reply = kb_replies.rollback_refused_reply(exc, self.bot.service.path)
        else:
            reply = kb_replies.rolled_back_reply(backup, diff, self.bot.service.kb)
            await self._audit(interaction, f"Knowledge upload of {backup.name} rolled back ({diff.summary()})")
        await respond(interaction, reply)

    @kb.command(name="download", description="Get a knowledge file as it is on disk (leave file empty to list them)")
    @app_commands.describe(file="Which file, e.g. basics.yaml")
    async def download(self, interaction: discord.Interaction, file: str | None = None) -> None:
        paths = await asyncio.to_thread(knowledge_files, self.bot.service.path)
        chosen = next((p for p in paths if p.name == file), None)  # a knowledge file by name, never another path
        if chosen is None:
            sizes = await asyncio.to_thread(lambda: [(p.name, p.stat().st_size) for p in paths])
            await respond(interaction, kb_replies.files_reply(sizes, file))
            return
        data = await asyncio.to_thread(chosen.read_bytes)
        if len(data) > interaction.filesize_limit:
            await respond(interaction, content=f"{kb_replies.inline_code(chosen.name)} is {len(data):,} bytes, more than Discord lets me attach here.")
            return
        await respond(interaction, content=f"{kb_replies.inline_code(chosen.name)} as it is on disk now ({len(data):,} bytes).",
                      file=discord.File(io.BytesIO(data), filename=chosen.name))

    @download.autocomplete("file")
    async def download_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not (is_moderator(interaction) or await is_owner(self.bot, interaction.user)):
            return []  # autocomplete skips the group check; the file names are for moderators only
        paths = await asyncio.to_thread(knowledge_files, self.bot.service.path)
        typed = current.casefold()
        names = [p.name for p in paths if typed in p.name.casefold()]
        return [app_commands.Choice(name=n, value=n) for n in names[: limits.AUTOCOMPLETE_CHOICES]]

    # -- check ------------------------------------------------------------------------------

    @kb.command(name="status", description="What knowledge is loaded: version, files, counts, and each process's shards")
    async def status(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        try:
            processes = await bot.fleet.members()
        except Exception:  # noqa: BLE001 - the status of this process is still worth showing
            log.warning("could not list the bot's processes", exc_info=True)
            processes = [bot.me]
        reply = kb_replies.status_reply(bot.service.kb, str(bot.service.path), processes, bot.me.name, bot.knowledge_out_of_step)
        await respond(interaction, reply)


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Moderation(bot))
