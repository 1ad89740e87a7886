"""Dismissing gaps: the picker under ``/kb gaps`` that takes questions off a server's list.

Much of what a help channel records is not pmbot's to answer (chat, a question for a person,
spam), and a moderator who cannot clear it reads past it every time. Dismissing a gap deletes
its recorded questions, every near-duplicate the gap groups, within the clicker's scope only
(their server's, plus the DMs' for owners). The same words asked there again are not recorded again
for as long as questions are kept: chat a help channel hears ("anyone here?") comes back every week,
and a list that fills up again with what was dismissed is read past. Another wording is listed, as
new evidence. Any of the server's moderators may dismiss, since the list is theirs to read;
teaching changes every server's answers and stays with owners (:mod:`bot.discord.teaching`).
Each dismissal goes to the server's moderator log, counted but not quoted: an owner's list
holds questions asked in DMs, which that server's moderators must not read.

Like the teach picker, this one is persistent and carries keys, not texts: each option's value
is the key of a gap's wording, looked up again when the picker is used among the gaps the
clicker may see, so a forged value can only name a gap its sender could dismiss anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import discord

from bot import limits
from bot.discord import audit, kb_replies
from bot.discord.checks import describe_user, may_moderate, moderator_refusal, report_scope
from bot.discord.errors import NotModerator, guarded
from bot.discord.render import NO_PINGS, picked, rebuilt_options, to_embed
from bot.discord.teaching import question_key, recorded_gaps
from bot.reports import GapReport

if TYPE_CHECKING:
    from bot.discord.app import PMBot

CUSTOM_ID = "pmbot:dismiss"


class DismissPicker(discord.ui.DynamicItem[discord.ui.Select], template=CUSTOM_ID):
    """Under /kb gaps: the listed gaps, any of which a moderator takes off the list."""

    def __init__(self, options: Sequence[discord.SelectOption], *, row: int | None = None) -> None:
        options = list(options)[: limits.SELECT_OPTIONS]
        super().__init__(
            discord.ui.Select(
                custom_id=CUSTOM_ID,
                placeholder="Not for pmbot? Dismiss questions from this list…",
                options=options,
                min_values=1,
                max_values=len(options),
            ),
            row=row,
        )

    @classmethod
    def for_gaps(cls, gaps: Sequence[GapReport]) -> DismissPicker | None:
        if not gaps:
            return None
        return cls([
            discord.SelectOption(label=limits.clip(f"#{n} “{gap.example}”", limits.SELECT_OPTION_TEXT),
                                 value=question_key(gap.example), description=f"asked {gap.count}×")
            for n, gap in enumerate(gaps, 1)
        ])

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> DismissPicker:
        return cls(rebuilt_options(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._dismiss)

    async def _dismiss(self, interaction: discord.Interaction) -> None:
        if not await may_moderate(interaction):
            raise NotModerator(moderator_refusal("kb gaps"))
        keys = set(picked(self.item, interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot: PMBot = interaction.client  # type: ignore[assignment]
        scope = await report_scope(interaction)
        chosen = await recorded_gaps(bot, scope, keys)
        deleted = 0
        if chosen and bot.store is not None:
            deleted = await bot.store.dismiss_questions({text for gap in chosen for text in gap.stored_as}, scope)
        if deleted and interaction.guild is not None:
            await audit.server_changed(
                bot, interaction.guild,
                f"Dismissed {len(chosen)} gap(s) ({deleted} recorded question(s)) from /kb gaps, "
                f"by {describe_user(interaction.user)}.",
            )
        reply = kb_replies.dismissed_reply([gap.example for gap in chosen], deleted, bot.settings.retention_days)
        await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)
