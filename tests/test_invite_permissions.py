"""The README's invite link grants the permissions its table lists: a wrong integer invites a bot that cannot post,
or asks a server for more than pmbot uses."""

from __future__ import annotations

import re

import discord

from tests.conftest import ROOT


def _invite_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### 2. Invite it to your server", 1)[1].split("\n### ", 1)[0]


def _flags(names: list[str]) -> int:
    """Discord's setting names as discord.py's flags: "Send Messages in Threads" is `send_messages_in_threads`."""
    allowed = discord.Permissions.none()
    for name in names:
        flag = name.lower().replace(" ", "_")
        assert flag in discord.Permissions.VALID_FLAGS, f"the README names a permission Discord has not: {name}"
        setattr(allowed, flag, True)
    return allowed.value


def test_the_invite_integers_are_the_permissions_the_table_lists() -> None:
    section = _invite_section()
    rows = re.findall(r"^\| ([A-Z][A-Za-z ]+?)( \(optional\))? \|", section, flags=re.MULTILINE)
    required = [name for name, optional in rows if not optional and name != "Permission"]
    optional = [name for name, flag in rows if flag]
    assert required and optional == ["Create Public Threads", "Manage Threads"]

    stated = [int(n) for n in re.findall(r"`(\d{6,})`", section)]
    link = int(re.search(r"permissions=(\d+)", section).group(1))
    assert stated[:3] == [_flags(required), _flags(required + optional[:1]), _flags(required + optional)]
    assert link == stated[0]
    assert stated[3] == _flags(required + ["View Channel"]), "the one that includes View Channels"
