"""The fixed little Discord world the fake serves: one bot, a first guild, a few users,
and any further guilds a test adds (each with its own owner, roles, channels and members).

IDs are constant so tests can hard-code expectations and failures are reproducible.
The first guild is described by the World's own fields (``guild_id``, ``roles``,
``channels``; membership by ``FakeUser.in_guild``/``role_ids``), so single-guild tests
read as before; :class:`FakeGuild` describes the others, and :meth:`World.guild`
gives either kind the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from .models import (
    BOT_ROLE_PERMISSIONS,
    DM,
    EVERYONE_PERMISSIONS,
    GUILD_FORUM,
    MANAGE_GUILD,
    READ_MESSAGE_HISTORY,
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
NO_HISTORY_CHANNEL = "no-history"
"""Extra channel where the bot's role is denied READ_MESSAGE_HISTORY: its history reads return no messages and a
message asked for by id is refused (403), as Discord does."""
FORUM_CHANNEL = "pm-forum"
"""A forum channel: members open posts in it (``FakeDiscord.open_forum_post``)."""

UserRef = Union[FakeUser, str, int]


@dataclass
class FakeGuild:
    """One guild: its owner, roles (by name), channels (by name) and members (user id -> role ids)."""

    id: int
    name: str
    owner_id: int
    roles: dict[str, FakeRole]
    channels: dict[str, FakeChannel]
    members: dict[int, tuple[int, ...]]

    def roles_by_id(self) -> dict[int, FakeRole]:
        return {r.id: r for r in self.roles.values()}

    def role(self, name: str) -> FakeRole:
        return self.roles[name]

    def channel(self, name: str) -> FakeChannel:
        return self.channels[name]


@dataclass
class World:
    """Everything static the fake knows: users, guilds, roles, channels, DM channels.

    ``app_owner_id`` is who the application info endpoint names as the application's
    owner (``Bot.is_owner``); by default the first guild's owner. ``left_guild_ids``
    are guilds the bot was removed from: no longer sent at IDENTIFY.
    """

    bot: FakeUser
    application_id: int
    guild_id: int
    guild_name: str
    owner_id: int
    users: dict[str, FakeUser]
    roles: dict[str, FakeRole]
    channels: dict[str, FakeChannel]
    dm_channels: dict[int, FakeChannel] = field(default_factory=dict)
    extra_guilds: dict[int, FakeGuild] = field(default_factory=dict)
    app_owner_id: Optional[int] = None
    left_guild_ids: set[int] = field(default_factory=set)

    @property
    def application_owner_id(self) -> int:
        return self.owner_id if self.app_owner_id is None else self.app_owner_id

    def guild(self, guild_id: Optional[int] = None) -> FakeGuild:
        """A guild by id (None: the first one), as a :class:`FakeGuild`."""
        if guild_id is None or guild_id == self.guild_id:
            members = {u.id: u.role_ids for u in self.all_users() if u.in_guild}
            return FakeGuild(self.guild_id, self.guild_name, self.owner_id, self.roles, self.channels, members)
        try:
            return self.extra_guilds[guild_id]
        except KeyError:
            raise KeyError(f"unknown fake guild {guild_id}") from None

    def guilds(self, *, joined_only: bool = False) -> list[FakeGuild]:
        """Every guild, the first one first; ``joined_only`` leaves out those the bot was removed from."""
        everything = [self.guild(), *self.extra_guilds.values()]
        return [g for g in everything if not (joined_only and g.id in self.left_guild_ids)]

    def guild_of(self, channel: Optional[FakeChannel]) -> Optional[FakeGuild]:
        """The guild a channel belongs to (None for DMs and unknown channels)."""
        if channel is None or channel.is_dm:
            return None
        for g in self.guilds():
            if any(c.id == channel.id for c in g.channels.values()):
                return g
        return None

    def member_roles(self, user: FakeUser, guild: FakeGuild) -> Optional[tuple[int, ...]]:
        """The user's role ids in ``guild``, or None when not a member."""
        if user.id == self.bot.id:
            bot_roles = [r.id for r in guild.roles.values() if r.bot_id == self.bot.id]
            return tuple(bot_roles)
        return guild.members.get(user.id)

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

    def guild_members(self, guild: Optional[FakeGuild] = None) -> list[FakeUser]:
        if guild is None or guild.id == self.guild_id:
            return [u for u in self.all_users() if u.in_guild]
        return [u for u in self.all_users() if u.id == self.bot.id or u.id in guild.members]

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
        for g in self.guilds():
            for c in g.channels.values():
                if c.id == channel_id:
                    return c
        for c in self.dm_channels.values():
            if c.id == channel_id:
                return c
        return None

    def dm_channel_for(self, user: FakeUser) -> FakeChannel:
        return self.dm_channels[user.id]

    def permissions(self, user: FakeUser, channel: Optional[FakeChannel], guild: Optional[FakeGuild] = None) -> int:
        """The user's permissions in a channel (in its guild; the first guild for DMs or ``guild`` if given). A thread
        has no overwrites of its own: its parent's apply, as on Discord."""
        g = guild or self.guild_of(channel) or self.guild()
        if channel is not None and channel.is_thread and channel.parent_id is not None:
            channel = self.channel_by_id(channel.parent_id) or channel
        return compute_permissions(
            user, channel, roles=g.roles_by_id(), guild_id=g.id, owner_id=g.owner_id,
            role_ids=self.member_roles(user, g) or (),
        )

    def add_guild(
        self,
        *,
        guild_id: int,
        name: str,
        owner: FakeUser,
        members: dict[FakeUser, Sequence[str]],
        channel_names: Sequence[str],
        roles: Optional[dict[str, int]] = None,
    ) -> FakeGuild:
        """Another guild with the bot in it: ``members`` maps each member to the names of its roles.

        ``roles`` maps role name -> permission bits (default: "Moderators" with none,
        "Staff" with Manage Server, like the first guild). Channel names must not repeat
        another guild's, so tests can name channels without saying which guild.
        """
        everyone = FakeRole(id=guild_id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0)
        spec = {"Moderators": 0, "Staff": MANAGE_GUILD} if roles is None else roles
        guild_roles = {"@everyone": everyone}
        for i, (role_name, perms) in enumerate(spec.items(), start=1):
            guild_roles[role_name] = FakeRole(id=guild_id + 100 + i, name=role_name, permissions=perms, position=i)
        guild_roles[f"{self.bot.username}-bot"] = FakeRole(
            id=guild_id + 199, name=self.bot.username, permissions=BOT_ROLE_PERMISSIONS, position=len(spec) + 1,
            managed=True, bot_id=self.bot.id,
        )
        taken = {c.name for g in self.guilds() for c in g.channels.values()}
        clash = taken & set(channel_names)
        if clash:
            raise ValueError(f"channel names {sorted(clash)} are already used in another guild")
        channels = {
            n: FakeChannel(id=guild_id + 200 + i, name=n, position=i, topic=f"#{n} (fake)")
            for i, n in enumerate(channel_names)
        }
        member_roles = {u.id: tuple(guild_roles[r].id for r in role_names) for u, role_names in members.items()}
        member_roles.setdefault(owner.id, ())
        guild = FakeGuild(guild_id, name, owner.id, guild_roles, channels, member_roles)
        self.extra_guilds[guild_id] = guild
        return guild


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
    channels[NO_HISTORY_CHANNEL] = FakeChannel(
        id=guild_id + 297,
        name=NO_HISTORY_CHANNEL,
        position=len(channel_names) + 2,
        overwrites=({"id": str(bot_role.id), "type": 0, "allow": "0", "deny": str(READ_MESSAGE_HISTORY)},),
    )
    channels[FORUM_CHANNEL] = FakeChannel(
        id=guild_id + 298, name=FORUM_CHANNEL, type=GUILD_FORUM, position=len(channel_names) + 1, topic="forum (fake)"
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
