"""Fixture dataclasses and JSON builders shaped like Discord API v10 payloads.

The builders only emit fields that discord.py 2.7 actually reads (checked against
``discord/{user,member,role,guild,channel,message,interactions}.py``) plus a few
that real Discord always sends, so the bot under test parses them exactly as it
would parse real traffic.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (subset) - https://discord.com/developers/docs/topics/permissions
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS | USE_EXTERNAL_EMOJIS
    | CREATE_PUBLIC_THREADS
)

# Message flags
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_IS_COMPONENTS_V2 = 1 << 15

# Channel types
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
GUILD_FORUM = 15


class SnowflakeFactory:
    """Generates increasing, time-based snowflakes so ``created_at`` looks sane."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
            if value <= self._last:
                value = self._last + 1
            self._last = value
            return value


def iso_now() -> str:
    """ISO-8601 UTC timestamp, the format discord.py's ``utils.parse_time`` expects."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def snowflake_time(snowflake: int) -> str:
    """Timestamp encoded in a snowflake, as ISO-8601."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat()


@dataclass(frozen=True)
class FakeUser:
    """A Discord user; ``role_ids`` only matter when ``in_guild`` is true."""

    id: int
    username: str
    global_name: Optional[str] = None
    bot: bool = False
    role_ids: tuple[int, ...] = ()
    in_guild: bool = True
    nick: Optional[str] = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class FakeRole:
    """A guild role; the @everyone role has ``id == guild_id``."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    hoist: bool = False
    color: int = 0
    bot_id: Optional[int] = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(frozen=True)
class FakeChannel:
    """A guild text or forum channel, a forum post (``type == 11``: a thread whose ``parent_id`` is the forum,
    ``owner_id`` its author, ``name`` its title) or a DM channel (``type == 1`` with ``recipient_id``)."""

    id: int
    name: str
    type: int = GUILD_TEXT
    position: int = 0
    topic: Optional[str] = None
    parent_id: Optional[int] = None
    overwrites: tuple[Mapping[str, Any], ...] = ()
    recipient_id: Optional[int] = None
    owner_id: Optional[int] = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    @property
    def is_thread(self) -> bool:
        return self.type == PUBLIC_THREAD


@dataclass(frozen=True)
class FakeAttachment:
    """A file the fake serves over HTTP (for attachment options and user uploads)."""

    id: int
    filename: str
    data: bytes = field(repr=False)
    url: str
    content_type: Optional[str] = None
    description: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return attachment_json(self)


def user_json(user: FakeUser, *, full: bool = False) -> dict[str, Any]:
    """User object; ``full`` adds the private fields of ``/users/@me``."""
    data: dict[str, Any] = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
    }
    if full:
        data.update({"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US", "email": None})
    return data


def member_json(
    user: FakeUser,
    *,
    include_user: bool = True,
    permissions: Optional[int] = None,
    joined_at: Optional[str] = None,
    role_ids: Optional[Iterable[int]] = None,
) -> dict[str, Any]:
    """Guild member; ``permissions`` is only present on interaction members.
    ``role_ids``: the member's roles in this guild (default: ``user.role_ids``, the first guild's)."""
    data: dict[str, Any] = {
        "roles": [str(r) for r in (user.role_ids if role_ids is None else role_ids)],
        "nick": user.nick,
        "avatar": None,
        "banner": None,
        "joined_at": joined_at or snowflake_time(user.id),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if include_user:
        data["user"] = user_json(user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def role_json(role: FakeRole) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }
    if role.bot_id is not None:
        data["tags"] = {"bot_id": str(role.bot_id)}
    return data


def channel_json(channel: FakeChannel, *, guild_id: Optional[int], recipient: Optional[FakeUser] = None) -> dict[str, Any]:
    """Guild text or forum channel, thread or DM channel object."""
    if channel.is_thread:
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(guild_id),
            "parent_id": str(channel.parent_id),
            "owner_id": str(channel.owner_id),
            "name": channel.name,
            "last_message_id": str(channel.id),
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False, "auto_archive_duration": 4320, "archive_timestamp": iso_now(), "locked": False,
            },
        }
    if channel.is_dm:
        return {
            "id": str(channel.id),
            "type": DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user_json(recipient)] if recipient is not None else [],
        }
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [dict(o) for o in channel.overwrites],
        "topic": channel.topic,
        "nsfw": False,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def attachment_json(att: FakeAttachment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(att.id),
        "filename": att.filename,
        "size": len(att.data),
        "url": att.url,
        "proxy_url": att.url,
        "flags": 0,
    }
    if att.content_type:
        data["content_type"] = att.content_type
    if att.description:
        data["description"] = att.description
    return data


def compute_permissions(
    user: FakeUser,
    channel: Optional[FakeChannel],
    *,
    roles: Mapping[int, FakeRole],
    guild_id: int,
    owner_id: int,
    role_ids: Optional[Iterable[int]] = None,
) -> int:
    """Discord's permission algorithm: base role perms, admin/owner shortcut, then overwrites.
    ``role_ids``: the user's roles in this guild (default: ``user.role_ids``)."""
    member_roles = tuple(user.role_ids if role_ids is None else role_ids)
    if user.id == owner_id:
        return ALL_PERMISSIONS
    everyone = roles[guild_id]
    perms = everyone.permissions
    for rid in member_roles:
        if rid in roles:
            perms |= roles[rid].permissions
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel is None or channel.is_dm:
        return perms
    ow = {int(o["id"]): o for o in channel.overwrites}
    if guild_id in ow:
        perms &= ~int(ow[guild_id]["deny"])
        perms |= int(ow[guild_id]["allow"])
    allow = deny = 0
    for rid in member_roles:
        if rid in ow:
            allow |= int(ow[rid]["allow"])
            deny |= int(ow[rid]["deny"])
    perms = (perms & ~deny) | allow
    if user.id in ow:
        perms = (perms & ~int(ow[user.id]["deny"])) | int(ow[user.id]["allow"])
    return perms


def guild_create_json(
    *,
    guild_id: int,
    name: str,
    owner_id: int,
    roles: Iterable[FakeRole],
    channels: Iterable[FakeChannel],
    members: Iterable[FakeUser],
    member_count: int,
    joined_at: str,
    member_roles: Optional[Mapping[int, Iterable[int]]] = None,
) -> dict[str, Any]:
    """GUILD_CREATE payload (guild + channels/roles/members), as read by ``Guild._from_data``.
    ``member_roles``: user id -> role ids in this guild (default: each user's ``role_ids``)."""
    chans = list(channels)
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "features": [],
        "system_channel_id": str(chans[0].id) if chans else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "joined_at": joined_at,
        "large": False,
        "unavailable": False,
        "lazy": True,
        "member_count": member_count,
        "roles": [role_json(r) for r in roles],
        "emojis": [],
        "stickers": [],
        "channels": [channel_json(c, guild_id=guild_id) for c in chans if not c.is_thread],
        "threads": [channel_json(c, guild_id=guild_id) for c in chans if c.is_thread],
        "members": [member_json(m, role_ids=(member_roles or {}).get(m.id)) for m in members],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
