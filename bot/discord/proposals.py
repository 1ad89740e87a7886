"""Proposals: a server's moderators propose a gap to pmbot's owners, who teach it or turn it down.

Only owners change the knowledge every server shares, and owners see no server's questions but the
one they are in. So a server's moderators, who see its gaps, could not get one taught without
copying it to the owners by hand. Under ``/kb gaps`` they get a :class:`ProposePicker` where owners
get a teach picker: picking an intent marks that gap's questions in their server as proposed
(``Store.propose``). Proposing is their choice to show those words to the owners, and nothing else
of the server's: ``/kb proposals`` lists every server's proposed gaps to owners only, with a picker
to teach one (as its proposed intent) and one to turn any down. Either way the proposal is settled.

A proposal lives on its questions' rows, so it goes as they go: deleted with its message, replaced
by an edit, dismissed, or past retention.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Sequence

import discord

from bot import limits, reports
from bot.discord import audit, kb_replies
from bot.discord.checks import describe_user, may_change_knowledge, may_moderate, moderator_refusal, owner_refusal
from bot.discord.errors import NotModerator, NotOwner, guarded
from bot.discord.render import NO_PINGS, picked, rebuilt_options, to_embed
from bot.discord.teaching import KEY_DIGITS, TeachPicker, recorded_gaps, teach
from bot.reports import Proposal
from bot.store import Scope

if TYPE_CHECKING:
    from bot.discord.app import PMBot

NOTHING_TO_PROPOSE = (
    "That question is no longer recorded here (deleted, dismissed, or past retention), so there is nothing to "
    "propose. `/kb gaps` shows what is left."
)
SETTLED = "That proposal is no longer waiting: taught or turned down already, or its questions are gone."


def proposal_key(proposal: Proposal) -> str:
    return hashlib.sha256(f"{proposal.guild_id}\n{proposal.intent_id}\n{proposal.question}".encode()).hexdigest()[:KEY_DIGITS]


def server_name(bot: PMBot, guild_id: int) -> str:
    guild = bot.get_guild(guild_id)
    return guild.name if guild is not None else f"server {guild_id}"


class ProposePicker(TeachPicker, template=r"pmbot:propose:(?P<key>[0-9a-f]{16})"):
    """Under one gap of /kb gaps for a server's moderators: picking an intent proposes the gap to the owners."""

    PREFIX = "pmbot:propose"
    ACTION = "propose it to pmbot's owners as…"

    async def _picked(self, interaction: discord.Interaction) -> None:
        if not await may_moderate(interaction):
            raise NotModerator(moderator_refusal("kb gaps"))
        assert interaction.guild is not None  # /kb is guild-only, and so are its messages' pickers
        values = picked(self.item, interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot: PMBot = interaction.client  # type: ignore[assignment]
        here = Scope.guild(interaction.guild.id)  # this server's questions only, whoever picks, owners included
        kb = bot.service.kb
        gap = next(iter(await recorded_gaps(bot, here, {self.key})), None)
        if gap is None or bot.store is None or not values or values[0] not in kb.intents:
            await interaction.followup.send(NOTHING_TO_PROPOSE, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        intent_id = values[0]
        await bot.store.propose(gap.stored_as, here, intent_id)
        shown = limits.clip(discord.utils.escape_markdown(gap.example), 300)
        await audit.server_changed(bot, interaction.guild, f"Proposed “{shown}” to pmbot's owners as {intent_id}, "
                                   f"by {describe_user(interaction.user)}.")
        await audit.proposal_made(bot, interaction.guild)
        reply = kb_replies.proposed_reply(gap.example, kb.intents[intent_id].title, intent_id)
        await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)


class ProposalsPicker(discord.ui.DynamicItem[discord.ui.Select], template=r"pmbot:proposals:(?P<action>teach|decline)"):
    """Under /kb proposals: pick proposals to settle. Keys, not texts, as the gaps' pickers carry: a pick is looked
    up among the proposals still waiting, so a forged value can only name one of those."""

    def __init__(self, action: str, options: Sequence[discord.SelectOption], *, row: int | None = None) -> None:
        options = list(options)[: limits.SELECT_OPTIONS]
        teaching = action == "teach"
        super().__init__(
            discord.ui.Select(
                custom_id=f"pmbot:proposals:{action}",
                placeholder="Teach one as proposed…" if teaching else "Turn proposals down…",
                options=options,
                min_values=1,
                max_values=1 if teaching else len(options),  # a teach re-indexes the knowledge: one at a time
            ),
            row=row,
        )
        self.action = action

    @classmethod
    def for_proposals(cls, action: str, proposals: Sequence[Proposal]) -> ProposalsPicker | None:
        if not proposals:
            return None
        return cls(action, [
            discord.SelectOption(label=limits.clip(f"#{n} “{p.question}”", limits.SELECT_OPTION_TEXT),
                                 value=proposal_key(p), description=limits.clip(f"as {p.intent_id}", limits.SELECT_OPTION_TEXT))
            for n, p in enumerate(proposals, 1)
        ])

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /) -> ProposalsPicker:
        return cls(match["action"], rebuilt_options(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, self._settle)

    async def _settle(self, interaction: discord.Interaction) -> None:
        if not await may_change_knowledge(interaction):
            raise NotOwner(owner_refusal("kb proposals"))
        keys = set(picked(self.item, interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot: PMBot = interaction.client  # type: ignore[assignment]
        chosen = [] if bot.store is None else [p for p in await reports.proposals(bot.store) if proposal_key(p) in keys]
        if not chosen or bot.store is None:
            await interaction.followup.send(SETTLED, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        if self.action == "teach":  # one at a time; a teach that did not happen leaves the proposal waiting
            proposal = chosen[0]  # the picker takes one; a forged pick of several teaches the first
            reply = await teach(bot, interaction, proposal.question, proposal.intent_id)
            if reply.title == kb_replies.TAUGHT:
                await bot.store.propose(proposal.stored_as, Scope.guild(proposal.guild_id), None)
            await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)
            return
        for proposal in chosen:
            await bot.store.propose(proposal.stored_as, Scope.guild(proposal.guild_id), None)
            if (guild := bot.get_guild(proposal.guild_id)) is not None:
                shown = limits.clip(discord.utils.escape_markdown(proposal.question), 300)
                await audit.server_changed(bot, guild, f"pmbot's owners turned down the proposal “{shown}” as "
                                           f"{proposal.intent_id}, by {describe_user(interaction.user)}.")
        reply = kb_replies.declined_reply([p.question for p in chosen])
        await interaction.followup.send(embed=to_embed(reply), ephemeral=True, allowed_mentions=NO_PINGS)

