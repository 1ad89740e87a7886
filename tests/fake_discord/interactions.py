"""Builders for INTERACTION_CREATE payloads (slash commands, autocomplete, components, modals).

Shapes follow what discord.py reads in ``Interaction._from_data`` (interactions.py),
``CommandTree._get_app_command_options`` / ``Namespace`` (app_commands/) and
``ViewStore.dispatch_view`` (ui/view.py). When the bot has registered the command with
the fake, option types and choices come from that registration, so a test cannot send
something a real Discord client could not.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

from .models import (
    FakeAttachment,
    FakeChannel,
    FakeRole,
    FakeUser,
    channel_json,
    member_json,
    role_json,
    user_json,
)
from .world import World

# Application command option types
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
)

# Interaction types
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5

OptionValue = Union[str, int, float, bool, FakeUser, FakeRole, FakeChannel, FakeAttachment]


class Resolved:
    """Accumulates the ``data.resolved`` maps for snowflake-typed options/selects."""

    def __init__(self, world: World, channel: Optional[FakeChannel]) -> None:
        self.world = world
        self.channel = channel
        self.data: dict[str, dict[str, Any]] = {}

    def _put(self, key: str, sid: int, value: dict[str, Any]) -> None:
        self.data.setdefault(key, {})[str(sid)] = value

    def user(self, u: FakeUser) -> None:
        self._put("users", u.id, user_json(u))
        guild = self.world.guild_of(self.channel)
        roles = self.world.member_roles(u, guild) if guild is not None else None
        if roles is not None:
            perms = self.world.permissions(u, self.channel)
            self._put("members", u.id, member_json(u, include_user=False, permissions=perms, role_ids=roles))

    def role(self, r: FakeRole) -> None:
        self._put("roles", r.id, role_json(r))

    def channel_(self, c: FakeChannel) -> None:
        guild = self.world.guild_of(c)
        data = channel_json(c, guild_id=guild.id if guild else self.world.guild_id)
        data["permissions"] = str(self.world.permissions(self.world.bot, c))
        self._put("channels", c.id, data)

    def attachment(self, a: FakeAttachment) -> None:
        self._put("attachments", a.id, a.to_json())


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser):
        return USER
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeAttachment):
        return ATTACHMENT
    return STRING


def _encode_value(name: str, otype: int, value: Any, resolved: Resolved, *, focused: bool) -> Any:
    """Convert a Python value to the wire value for option type ``otype`` (and fill resolved)."""
    if focused:
        return str(value)  # autocomplete sends the partial text, whatever the type
    if otype == STRING:
        return str(value)
    if otype == INTEGER:
        return int(value)
    if otype == NUMBER:
        return float(value)
    if otype == BOOLEAN:
        return bool(value)
    if otype in (USER, MENTIONABLE) and isinstance(value, FakeUser):
        resolved.user(value)
        return str(value.id)
    if otype in (ROLE, MENTIONABLE) and isinstance(value, FakeRole):
        resolved.role(value)
        return str(value.id)
    if otype == CHANNEL and isinstance(value, FakeChannel):
        resolved.channel_(value)
        return str(value.id)
    if otype == ATTACHMENT and isinstance(value, FakeAttachment):
        resolved.attachment(value)
        return str(value.id)
    raise TypeError(f"option {name!r} (type {otype}) cannot take {value!r}; use fake.users/roles/channels/attach_file objects")


def build_options(
    schema: Optional[Sequence[Mapping[str, Any]]],
    provided: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None],
    resolved: Resolved,
    *,
    focused: Optional[str] = None,
) -> list[dict[str, Any]]:
    """Leaf options from {name: value} (or [{"name", "value"}]); typed via the registered schema."""
    if provided is None:
        provided = {}
    if not isinstance(provided, Mapping):
        raw = [dict(o) for o in provided]
        if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) or "value" not in o for o in raw):
            return raw  # hand-built nested options: passed through untouched
        provided = {o["name"]: o["value"] for o in raw}
    by_name = {o["name"]: o for o in schema or []}
    out: list[dict[str, Any]] = []
    for name, value in provided.items():
        if schema is not None and name not in by_name:
            raise ValueError(f"option {name!r} is not in the registered command; has {sorted(by_name)}")
        spec = by_name.get(name, {})
        otype = spec.get("type", _infer_type(value))
        is_focused = name == focused
        wire = _encode_value(name, otype, value, resolved, focused=is_focused)
        choices = spec.get("choices")
        if choices and not is_focused and wire not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}={wire!r} is not one of the registered choices {[c['value'] for c in choices]}")
        opt: dict[str, Any] = {"name": name, "type": otype, "value": wire}
        if is_focused:
            opt["focused"] = True
        out.append(opt)
    if focused is not None and focused not in provided:
        spec = by_name.get(focused, {})
        out.append({"name": focused, "type": spec.get("type", STRING), "value": "", "focused": True})
    if schema is not None and focused is None:
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in provided]
        if missing:
            raise ValueError(f"required options missing: {missing}")
    return out


def build_command_data(
    *,
    command: Optional[Mapping[str, Any]],
    name: str,
    command_id: int,
    subcommand_group: Optional[str],
    subcommand: Optional[str],
    options: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None],
    resolved: Resolved,
    focused: Optional[str] = None,
) -> dict[str, Any]:
    """``data`` of a chat-input command or autocomplete interaction, nesting group/subcommand."""
    schema: Optional[Sequence[Mapping[str, Any]]] = command.get("options", []) if command is not None else None

    def child(spec_list: Optional[Sequence[Mapping[str, Any]]], child_name: str, kind: int) -> Optional[Sequence[Mapping[str, Any]]]:
        if spec_list is None:
            return None
        for o in spec_list:
            if o["name"] == child_name and o.get("type") == kind:
                return o.get("options", [])
        raise ValueError(f"{'group' if kind == SUB_COMMAND_GROUP else 'subcommand'} {child_name!r} not registered for /{name}")

    group_schema = child(schema, subcommand_group, SUB_COMMAND_GROUP) if subcommand_group else schema
    leaf_schema = child(group_schema, subcommand, SUB_COMMAND) if subcommand else group_schema
    leaf = build_options(leaf_schema, options, resolved, focused=focused)
    top: list[dict[str, Any]] = leaf
    if subcommand:
        top = [{"name": subcommand, "type": SUB_COMMAND, "options": leaf}]
    if subcommand_group:
        top = [{"name": subcommand_group, "type": SUB_COMMAND_GROUP, "options": top}]
    data: dict[str, Any] = {"id": str(command_id), "name": name, "type": 1, "options": top}
    if command is not None and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved.data:
        data["resolved"] = resolved.data
    return data


def find_component(components: Sequence[Mapping[str, Any]], custom_id: str) -> Optional[Mapping[str, Any]]:
    """Depth-first search for a component by custom_id (rows, containers, sections, labels)."""
    for c in components:
        if c.get("custom_id") == custom_id:
            return c
        for key in ("components",):
            found = find_component(c.get(key) or [], custom_id)
            if found is not None:
                return found
        for key in ("accessory", "component"):
            sub = c.get(key)
            if isinstance(sub, Mapping):
                found = find_component([sub], custom_id)
                if found is not None:
                    return found
    return None


def modal_submit_components(modal: Mapping[str, Any], values: Mapping[str, Union[str, Sequence[str]]]) -> list[dict[str, Any]]:
    """Mirror the modal's layout with submitted values (rows -> type 1, labels -> type 18)."""

    def leaf(c: Mapping[str, Any]) -> Optional[dict[str, Any]]:
        cid = c.get("custom_id")
        if cid is None:
            return None
        v = values.get(cid, c.get("value", ""))
        if c.get("type") == 4:
            return {"type": 4, "custom_id": cid, "value": str(v)}
        return {"type": c.get("type"), "custom_id": cid, "values": list(v) if not isinstance(v, str) else [v]}

    out: list[dict[str, Any]] = []
    for top in modal.get("components") or []:
        if top.get("type") == 1:
            kids = [k for k in (leaf(c) for c in top.get("components") or []) if k is not None]
            out.append({"type": 1, "components": kids})
        elif top.get("type") == 18 and isinstance(top.get("component"), Mapping):
            k = leaf(top["component"])
            if k is not None:
                out.append({"type": 18, "component": k})
    unknown = set(values) - {c.get("custom_id") for c in _leaves(modal.get("components") or [])}
    if unknown:
        raise ValueError(f"modal has no inputs {sorted(unknown)}")
    return out


def _leaves(components: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for c in components:
        if "custom_id" in c:
            out.append(c)
        out += _leaves(c.get("components") or [])
        if isinstance(c.get("component"), Mapping):
            out += _leaves([c["component"]])
    return out


def build_interaction(
    world: World,
    *,
    interaction_id: int,
    token: str,
    itype: int,
    data: Mapping[str, Any],
    user: FakeUser,
    channel: FakeChannel,
    locale: str,
    attachment_size_limit: int,
    message: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """The INTERACTION_CREATE ``d`` payload for a guild channel or a DM."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": itype,
        "data": dict(data),
        "token": token,
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": attachment_size_limit,
        "channel_id": str(channel.id),
    }
    bot_perms = world.permissions(world.bot, channel)
    if channel.is_dm:
        payload.update(
            user=user_json(user),
            context=1,
            authorizing_integration_owners={"0": str(world.guild_id)},
            channel=channel_json(channel, guild_id=None, recipient=user),
            app_permissions=str(bot_perms),
        )
    else:
        guild = world.guild_of(channel) or world.guild()
        roles = world.member_roles(user, guild)
        if roles is None:
            raise ValueError(f"{user.username} is not a member of {guild.name} and cannot interact in #{channel.name}")
        perms = world.permissions(user, channel)
        chan = channel_json(channel, guild_id=guild.id)
        chan["permissions"] = str(perms)
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member_json(user, permissions=perms, role_ids=roles),
            context=0,
            authorizing_integration_owners={"0": str(guild.id)},
            channel=chan,
            app_permissions=str(bot_perms),
        )
    if message is not None:
        payload["message"] = dict(message)
    return payload
