"""Who may do what: owners, a server's moderators, everyone else (the checks, with Discord mocked)."""

from __future__ import annotations

import logging
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from tests.test_discord_cogs import GUILD_ID, MOD_ROLE_ID, make_bot, mock_interaction, mock_member, mock_user

from bot.discord import checks
from bot.discord.cogs.config import ServerConfig
from bot.discord.cogs.moderation import Moderation
from bot.discord.cooldown import GuildCooldowns
from bot.discord.errors import NotModerator, NotOwner
from bot.service import KnowledgeService
from bot.store import GuildSettings, Scope
from tests.conftest import warm_service

OTHER_GUILD = GUILD_ID + 1
LISTED = 4242


@pytest.fixture(scope="module")
def service() -> KnowledgeService:
    from bot.config import BUNDLED_KNOWLEDGE
    return warm_service(BUNDLED_KNOWLEDGE)


def bot_for(service: KnowledgeService, *, app_owner: int | None = None, **settings: object):  # type: ignore[no-untyped-def]
    bot = make_bot(service, owner_ids=frozenset({LISTED}), **settings)
    bot.is_owner = AsyncMock(side_effect=lambda user: user.id == app_owner)
    return bot


def in_guild(bot, user, guild_id: int = GUILD_ID, permissions: discord.Permissions | None = None):  # type: ignore[no-untyped-def]
    interaction = mock_interaction(user, client=bot, permissions=permissions)
    interaction.guild_id = guild_id
    return interaction


async def test_owners_are_the_application_owner_and_pmbot_owner_ids(service: KnowledgeService) -> None:
    bot = bot_for(service, app_owner=7)
    assert await checks.is_owner(bot, mock_user(7))
    assert await checks.is_owner(bot, mock_user(LISTED))
    assert not await checks.is_owner(bot, mock_member(8, manage_guild=True)), "Manage Server makes no owner"


async def test_without_the_application_info_nobody_else_is_an_owner(service: KnowledgeService, caplog: pytest.LogCaptureFixture) -> None:
    bot = bot_for(service)
    response = AsyncMock(status=503, reason="down")
    bot.is_owner = AsyncMock(side_effect=discord.HTTPException(response, "down"))
    with caplog.at_level(logging.WARNING, logger="pmbot.checks"):
        assert not await checks.is_owner(bot, mock_user(7))
    assert "application info" in caplog.text
    assert await checks.is_owner(bot, mock_user(LISTED)), "PMBOT_OWNER_IDS needs no lookup"


async def test_moderators_by_permission_or_by_their_servers_roles(service: KnowledgeService) -> None:
    bot = bot_for(service)
    assert checks.is_moderator(in_guild(bot, mock_member(), permissions=discord.Permissions(manage_guild=True)))
    assert checks.is_moderator(in_guild(bot, mock_member(), permissions=discord.Permissions(administrator=True)))
    assert checks.is_moderator(in_guild(bot, mock_member(role_ids=(MOD_ROLE_ID,))))  # PMBOT_MODERATOR_ROLES
    assert not checks.is_moderator(in_guild(bot, mock_member(role_ids=(99,))))

    # A server's own moderator roles replace the default there, and only there.
    await bot.guild_settings.update(OTHER_GUILD, lambda own: GuildSettings(own.guild_id, moderator_roles=frozenset({99})))
    assert checks.is_moderator(in_guild(bot, mock_member(role_ids=(99,)), OTHER_GUILD))
    assert not checks.is_moderator(in_guild(bot, mock_member(role_ids=(MOD_ROLE_ID,)), OTHER_GUILD))
    assert not checks.is_moderator(in_guild(bot, mock_member(role_ids=(99,)), GUILD_ID))

    dm = mock_interaction(mock_user(), client=bot, permissions=discord.Permissions.all())
    dm.guild_id = None
    assert not checks.is_moderator(dm), "a DM is never moderated"


async def test_only_owners_and_home_server_moderators_change_the_knowledge(service: KnowledgeService) -> None:
    bot = bot_for(service, app_owner=7, home_guild_id=GUILD_ID)
    manage = discord.Permissions(manage_guild=True)
    assert await checks.may_change_knowledge(in_guild(bot, mock_user(7), OTHER_GUILD))
    assert await checks.may_change_knowledge(in_guild(bot, mock_member(), GUILD_ID, manage)), "home server moderator"
    assert not await checks.may_change_knowledge(in_guild(bot, mock_member(), OTHER_GUILD, manage))
    assert not await checks.may_change_knowledge(in_guild(bot, mock_member(), GUILD_ID)), "plain member at home"

    no_home = bot_for(service, app_owner=7)
    assert not await checks.may_change_knowledge(in_guild(no_home, mock_member(), GUILD_ID, manage))


@pytest.mark.parametrize(
    "command", [Moderation.reload, Moderation.upload, Moderation.teach, Moderation.rollback, Moderation.proposals]
)
async def test_knowledge_commands_refuse_server_moderators_saying_why(service: KnowledgeService, command) -> None:  # type: ignore[no-untyped-def]
    bot = bot_for(service, app_owner=7)
    [predicate] = command.checks
    interaction = in_guild(bot, mock_member(), permissions=discord.Permissions.all())  # even an administrator
    interaction.command = command
    with pytest.raises(NotOwner, match=f"/kb {command.name} changes the shared knowledge"):
        await predicate(interaction)
    owner = in_guild(bot, mock_user(7))
    owner.command = command
    assert await predicate(owner)


async def test_every_config_group_checks_for_itself(service: KnowledgeService) -> None:
    bot = bot_for(service, app_owner=7)
    for group in (ServerConfig.config, ServerConfig.help_channels, ServerConfig.moderator_roles):
        assert isinstance(group, checks.ModeratorGroup)
        with pytest.raises(NotModerator) as refused:
            await group.interaction_check(in_guild(bot, mock_member()))
        assert str(refused.value) == checks.moderator_refusal("config")
        assert await group.interaction_check(in_guild(bot, mock_member(), permissions=discord.Permissions(manage_guild=True)))
        assert await group.interaction_check(in_guild(bot, mock_user(7))), "owners too"


async def test_reports_show_this_server_and_dms_only_to_owners(service: KnowledgeService) -> None:
    bot = bot_for(service, app_owner=7)
    assert await checks.report_scope(in_guild(bot, mock_member(manage_guild=True))) == Scope.guild(GUILD_ID)
    assert await checks.report_scope(in_guild(bot, mock_user(7))) == Scope.guild(GUILD_ID, direct_messages=True)


def test_each_server_has_its_own_cooldown() -> None:
    limits = {GUILD_ID: (1, 60.0), OTHER_GUILD: (3, 60.0)}
    cooldowns = GuildCooldowns(lambda guild_id: limits.get(guild_id, (5, 60.0)), clock=lambda: 0.0)
    assert [cooldowns.for_guild(GUILD_ID).retry_after(1) > 0 for _ in range(2)] == [False, True]
    assert [cooldowns.for_guild(OTHER_GUILD).retry_after(1) > 0 for _ in range(4)] == [False, False, False, True]
    limits[GUILD_ID] = (2, 60.0)  # /config cooldown: a fresh window with the new size
    assert [cooldowns.for_guild(GUILD_ID).retry_after(1) > 0 for _ in range(3)] == [False, False, True]
    assert cooldowns.for_guild(None).rate == 5


async def test_config_refuses_a_channel_or_role_of_another_server(service: KnowledgeService) -> None:
    bot = bot_for(service)
    cog = ServerConfig(bot)
    interaction = in_guild(bot, mock_member(), permissions=discord.Permissions(manage_guild=True))
    elsewhere = MagicMock(spec=discord.TextChannel)
    elsewhere.id, elsewhere.guild = 555, MagicMock(spec=discord.Guild, id=OTHER_GUILD)
    role = MagicMock(spec=discord.Role)
    role.id, role.guild = 556, elsewhere.guild
    await cog.help_channels_add.callback(cog, interaction, elsewhere)
    await cog.mod_log.callback(cog, interaction, elsewhere)
    await cog.moderator_roles_add.callback(cog, interaction, role)
    assert bot.guild_settings.guild_ids() == [], "nothing was changed"
    sent = [c.kwargs["content"] for c in interaction.response.send_message.await_args_list + interaction.followup.send.await_args_list]
    assert sent and all("not in this server" in text for text in sent)
