"""Teaching pmbot from Discord: ``/kb teach`` and the intent pickers under ``/kb gaps``.

Both end in :func:`teach`, which goes through the bot's
:class:`~bot.keeper.KnowledgeKeeper` (validated in full, the file backed up
for ``/kb rollback``, served at once) and is posted to every moderator log
like any other knowledge change. Only owners may teach: the command is
:func:`~bot.discord.checks.owner_only`, and a picker checks again when it is
used, since anyone can send a component interaction.

A picker is persistent (a ``DynamicItem``: it works after a restart) and
must name its question in a custom_id of at most 100 characters, while a
question may be far longer. So it carries a key, the start of the SHA-256 of
the question as the gap shows it, and the click looks that key up among the
recorded questions the clicker may see (their server's, plus the DMs' for
owners). A picker can thus only teach a question the store still holds, its
text is never taken from the client, and the store needs no row ids (the
PostgreSQL store implements the same interface).
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any, Collection, Sequence

import discord

from bot import limits, reports
from bot.discord import audit, kb_replies
from bot.discord.checks import describe_user, may_change_knowledge, owner_refusal, report_scope
from bot.discord.errors import NotOwner, guarded
from bot.discord.render import NO_PINGS, picked, rebuilt_options, to_embed
from bot.knowledge import KnowledgeError
from bot.knowledge.teach import TeachRefused, likely_intents, only_names_a_role
from bot.matching import Matcher
from bot.replies import Reply
from bot.reports import GapReport
from bot.store import Scope

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.teaching")

KEY_DIGITS = 16  # 64 bits of SHA-256: no two questions in one server's store will share a key
PICKER_INTENTS = 10  # likely intents offered under one question (Discord allows 25)
GONE = (
    "That question is no longer recorded here (retention removed it, or it was never asked in this server), "
    "so there is nothing to teach. `/kb teach` teaches any question you type."
)


def question_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_DIGITS]


async def teach(bot: PMBot, interaction: discord.Interaction, question: str, intent_id: str) -> Reply:
    """Teaches through the keeper and audits it; the reply says what happened or why nothing did."""
    try:
        lesson, _, diff = await bot.keeper.teach(question, intent_id)
    except (TeachRefused, KnowledgeError) as exc:
        log.info("teach by user %s refused: %s", interaction.user.id, exc)
        return kb_replies.teach_refused_reply(exc, bot.service.path)
    where = f" in {interaction.guild.name}" if interaction.guild else ""
    shown = limits.clip(discord.utils.escape_markdown(lesson.question), 300)
    await audit.knowledge_changed(
        bot, f"Taught “{shown}” as a phrasing of {lesson.intent_id} ({lesson.file}), by {describe_user(interaction.user)}{where}."
    )
    return kb_replies.taught_reply(lesson, diff, bot.service.kb)


async def recorded_gaps(bot: PMBot, scope: Scope, keys: Collection[str]) -> list[GapReport]:
    """The gaps within ``scope`` one of whose wordings has one of these keys (what a picker carries), found through
    the same report that listed them, so that a key finds the wording it showed, whatever form the report shows
    questions in."""
    if bot.store is None:
        return []
    found = await reports.every_gap(bot.store, scope)
    return [gap for gap in found if any(question_key(text) in keys for text in gap.variants)]


async def recorded_question(bot: PMBot, interaction: discord.Interaction, key: str) -> str | None:
    """The recorded question with this key, among those the user may see; None if there is none."""
    found = await recorded_gaps(bot, await report_scope(interaction), {key})
    return next((text for gap in found for text in gap.variants if question_key(text) == key), None)


class TeachPicker(discord.ui.DynamicItem[discord.ui.Select], template=r"pmbot:teach:(?P<key>[0-9a-f]{16})"):
    """Under one gap of /kb gaps: its likely intents; picking one teaches the question as a phrasing of it."""

    PREFIX = "pmbot:teach"
    ACTION = "teach it as…"

    def __init__(self, key: str, options: Sequence[discord.SelectOption], placeholder: str | None = None,
                 *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"{self.PREFIX}:{key}",
                placeholder=placeholder,
                options=list(options)[: limits.SELECT_OPTIONS],
                min_values=1,
                max_values=1,
            ),
            row=row,
        )
        self.key = key

    @classmethod
    def for_gap(cls, matcher: Matcher, number: int, gap: GapReport) -> TeachPicker | None:
        """None when nothing in the knowledge is close to the question (then `/kb teach` is the way), or when it only
        names a role, which teach refuses."""
        if only_names_a_role(gap.example):
            return None
        kb = matcher.kb
        # A 👎 said the answer given was wrong: the picker leaves it out.
        ids = [i for i in likely_intents(matcher, gap.example, PICKER_INTENTS + 1) if i != gap.downvoted]
        if gap.best_intent in kb.intents and gap.best_intent != gap.downvoted:  # what the bot thought closest first
            ids = [gap.best_intent, *(i for i in ids if i != gap.best_intent)]
        ids = ids[:PICKER_INTENTS]
        if not ids:
            return None
        options = [
            discord.SelectOption(label=limits.clip(kb.intents[i].title, limits.SELECT_OPTION_TEXT), value=i,
                                 description=limits.clip(i, limits.SELECT_OPTION_TEXT))
            for i in ids
        ]
        placeholder = limits.clip(f"#{number} “{gap.example}”: {cls.ACTION}", limits.SELECT_PLACEHOLDER)
        return cls(question_key(gap.example), options, placeholder)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> TeachPicker:
        return cls(match["key"], rebuilt_options(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._picked)

    async def _picked(self, interaction: discord.Interaction) -> None:
        if not await may_change_knowledge(interaction):
            raise NotOwner(owner_refusal("kb teach"))
        values = picked(self.item, interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot: PMBot = interaction.client  # type: ignore[assignment]
        question = await recorded_question(bot, interaction, self.key)
        if question is None or not values:
            await interaction.followup.send(GONE, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        reply = await teach(bot, interaction, question, values[0])
        await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)
