"""The fixed little Discord world the fake serves: one bot, one guild, a few users.

IDs are constant so tests can hard-code expectations and failures are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from .models import (
    BOT_ROLE_PERMISSIONS,
    DM,
    EVERYONE_PERMISSIONS,
    MANAGE_GUILD,
    SEND_MESSAGES,
    FakeChannel,
    FakeRole,
    FakeUser,
    compute_permissions,
)

DEFAULT_BOT_ID = 1000000000000000001
DEFAULT_GUILD_ID = 1100000000000000001
DEFAULT_CHANNELS: tuple[str, ...] = ("general", "pm-questions", "bot-log")
READ_ONLY_CHANNEL = "read-only"
"""Extra channel where the bot's role is denied SEND_MESSAGES (POST -> 403)."""

UserRef = Union[FakeUser, str, int]


@dataclass
class World:
    """Everything static the fake knows: users, roles, channels, DM channels."""

    bot: FakeUser
    application_id: int
    guild_id: int
    guild_name: str
    owner_id: int
    users: dict[str, FakeUser]
    roles: dict[str, FakeRole]
    channels: dict[str, FakeChannel]
    dm_channels: dict[int, FakeChannel] = field(default_factory=dict)

    @property
    def everyone_role(self) -> FakeRole:
        return self.roles["@everyone"]

    @property
    def bot_role(self) -> FakeRole:
        return next(r for r in self.roles.values() if r.bot_id == self.bot.id)

    def roles_by_id(self) -> dict[int, FakeRole]:
        return {r.id: r for r in self.roles.values()}

    def all_users(self) -> list[FakeUser]:
        return [self.bot, *self.users.values()]

    def guild_members(self) -> list[FakeUser]:
        return [u for u in self.all_users() if u.in_guild]

    def resolve_user(self, ref: UserRef) -> FakeUser:
        """Accept a FakeUser, a key of ``users`` ("user", "moderator", ...) or an id."""
        if isinstance(ref, FakeUser):
            return ref
        if isinstance(ref, str):
            if ref in self.users:
                return self.users[ref]
            for u in self.all_users():
                if u.username == ref:
                    return u
            raise KeyError(f"unknown fake user {ref!r}; known: {sorted(self.users)}")
        for u in self.all_users():
            if u.id == ref:
                return u
        raise KeyError(f"unknown fake user id {ref}")

    def channel_by_id(self, channel_id: int) -> Optional[FakeChannel]:
        for c in self.channels.values():
            if c.id == channel_id:
                return c
        for c in self.dm_channels.values():
            if c.id == channel_id:
                return c
        return None

    def dm_channel_for(self, user: FakeUser) -> FakeChannel:
        return self.dm_channels[user.id]

    def permissions(self, user: FakeUser, channel: Optional[FakeChannel]) -> int:
        return compute_permissions(
            user, channel, roles=self.roles_by_id(), guild_id=self.guild_id, owner_id=self.owner_id
        )


def default_world(
    *,
    bot_id: int = DEFAULT_BOT_ID,
    bot_name: str = "pmbot",
    application_id: Optional[int] = None,
    guild_id: int = DEFAULT_GUILD_ID,
    guild_name: str = "PM Test Guild",
    channel_names: Sequence[str] = DEFAULT_CHANNELS,
) -> World:
    """Build the standard world.

    Users (keys of ``World.users``): ``owner`` (guild + app owner), ``user`` (plain member),
    ``moderator`` (has "Staff" role with Manage Server 0x20), ``role_moderator`` (has the
    "Moderators" role but no extra permissions), ``stranger`` (not in the guild; DMs only).
    """
    everyone = FakeRole(id=guild_id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0)
    moderators = FakeRole(id=guild_id + 100, name="Moderators", permissions=0, position=1, mentionable=True)
    staff = FakeRole(id=guild_id + 101, name="Staff", permissions=MANAGE_GUILD, position=2)
    bot_role = FakeRole(
        id=guild_id + 102, name=bot_name, permissions=BOT_ROLE_PERMISSIONS, position=3, managed=True, bot_id=bot_id
    )
    roles = {r.name: r for r in (everyone, moderators, staff)}
    roles[bot_role.name if bot_role.name not in roles else f"{bot_role.name}-bot"] = bot_role

    bot = FakeUser(id=bot_id, username=bot_name, bot=True, role_ids=(bot_role.id,))
    base_uid = 1200000000000000001
    users = {
        "owner": FakeUser(id=base_uid, username="olivia_owner", global_name="Olivia"),
        "user": FakeUser(id=base_uid + 1, username="alice", global_name="Alice"),
        "moderator": FakeUser(id=base_uid + 2, username="mod_mary", global_name="Mary", role_ids=(staff.id,)),
        "role_moderator": FakeUser(id=base_uid + 3, username="rolf", global_name="Rolf", role_ids=(moderators.id,)),
        "stranger": FakeUser(id=base_uid + 4, username="stranger_sam", global_name="Sam", in_guild=False),
    }

    channels: dict[str, FakeChannel] = {}
    for i, name in enumerate(channel_names):
        channels[name] = FakeChannel(id=guild_id + 200 + i, name=name, position=i, topic=f"#{name} (fake)")
    channels[READ_ONLY_CHANNEL] = FakeChannel(
        id=guild_id + 299,
        name=READ_ONLY_CHANNEL,
        position=len(channel_names),
        overwrites=({"id": str(bot_role.id), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)},),
    )
    dm_channels = {
        u.id: FakeChannel(id=1300000000000000001 + i, name=f"dm-{u.username}", type=DM, recipient_id=u.id)
        for i, u in enumerate(users.values())
    }
    return World(
        bot=bot,
        application_id=application_id or bot_id,
        guild_id=guild_id,
        guild_name=guild_name,
        owner_id=users["owner"].id,
        users=users,
        roles=roles,
        channels=channels,
        dm_channels=dm_channels,
    )
