"""The fake Discord server: limit checks in isolation, then a real discord.py bot
process driven end to end through it (mention reply, slash command with embed and a
persistent button, a button click, and an over-limit payload), then several guilds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from fake_discord import FakeDiscord
from fake_discord.interactions import APPLICATION_COMMAND, build_interaction
from fake_discord.limits import (
    LimitError,
    check_autocomplete,
    check_commands,
    check_interaction_callback,
    check_message,
    to_discord_error,
)
from fake_discord.models import MANAGE_GUILD, PUBLIC_THREAD, READ_MESSAGE_HISTORY, FakeChannel
from fake_discord.world import NO_HISTORY_CHANNEL

# --------------------------------------------------------------------------- limits


def _valid_message() -> dict[str, Any]:
    return {
        "content": "Product managers own the why; project managers own the when.",
        "embeds": [
            {
                "title": "t" * 256,
                "description": "d" * 4096,
                "fields": [{"name": "n", "value": "v" * 1024}] * 1,
                "footer": {"text": "f" * 100},
                "author": {"name": "a" * 256},
            }
        ],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "l" * 80, "custom_id": f"b{i}"} for i in range(5)]},
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "s" * 100,
                        "options": [{"label": "x" * 100, "value": f"{i:0>100}", "description": "y" * 100} for i in range(25)],
                    }
                ],
            },
        ],
        "allowed_mentions": {"parse": []},
    }


def _paths(errors: list[LimitError]) -> set[str]:
    return {e.path for e in errors}


def test_valid_payload_passes() -> None:
    assert check_message(_valid_message()) == []
    assert check_message({"content": "x" * 2000}) == []
    assert check_message({"embeds": [{"description": "x" * 3000}, {"description": "y" * 3000}]}) == []


def _mutate(path: str, value: Any) -> dict[str, Any]:
    msg = _valid_message()
    node: Any = msg
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return msg


@pytest.mark.parametrize(
    ("path", "value", "error_path"),
    [
        ("content", "x" * 2001, "content"),
        ("embeds.0.title", "t" * 257, "embeds.0.title"),
        ("embeds.0.description", "d" * 4097, "embeds.0.description"),
        ("embeds.0.fields", [{"name": "n", "value": "v"}] * 26, "embeds.0.fields"),
        ("embeds.0.fields", [{"name": "n" * 257, "value": "v"}], "embeds.0.fields.0.name"),
        ("embeds.0.fields", [{"name": "n", "value": "v" * 1025}], "embeds.0.fields.0.value"),
        ("embeds.0.fields", [{"name": "n", "value": ""}], "embeds.0.fields.0.value"),
        ("embeds.0.footer", {"text": "f" * 2049}, "embeds.0.footer.text"),
        ("embeds.0.author", {"name": "a" * 257}, "embeds.0.author.name"),
        ("embeds", [{"description": "x" * 4000}, {"description": "y" * 2001}], "embeds"),
        ("embeds", [{"title": "t"}] * 11, "embeds"),
        ("components", [{"type": 1, "components": [{"type": 2, "style": 1, "label": "l", "custom_id": f"r{i}"}]} for i in range(6)], "components"),
        ("components.0.components", [{"type": 2, "style": 1, "label": "l", "custom_id": f"c{i}"} for i in range(6)], "components.0.components"),
        ("components.0.components.0.label", "l" * 81, "components.0.components.0.label"),
        ("components.0.components.0.custom_id", "c" * 101, "components.0.components.0.custom_id"),
        ("components.0.components.0.custom_id", "", "components.0.components.0.custom_id"),
        ("components.0.components.1.custom_id", "b0", "components.0.components.1.custom_id"),
        ("components.1.components.0.options", [{"label": "l", "value": str(i)} for i in range(26)], "components.1.components.0.options"),
        ("components.1.components.0.options", [{"label": "l" * 101, "value": "v"}], "components.1.components.0.options.0.label"),
        ("components.1.components.0.options", [{"label": "l", "value": "v" * 101}], "components.1.components.0.options.0.value"),
        ("components.1.components.0.options", [{"label": "l", "value": "v", "description": "d" * 101}], "components.1.components.0.options.0.description"),
    ],
)
def test_each_limit_rejects(path: str, value: Any, error_path: str) -> None:
    errors = check_message(_mutate(path, value))
    assert error_path in _paths(errors), errors


def test_allowed_mentions_policy() -> None:
    ping = {"content": "hi <@123>"}
    assert "allowed_mentions" in _paths(check_message(ping))
    assert check_message({**ping, "allowed_mentions": {"parse": []}}) == []
    assert "allowed_mentions.parse" in _paths(check_message({**ping, "allowed_mentions": {"parse": ["users"]}}))
    assert "allowed_mentions.users" in _paths(check_message({**ping, "allowed_mentions": {"parse": [], "users": [123]}}))
    assert "allowed_mentions" in _paths(check_message({"embeds": [{"description": "@everyone look"}]}))
    reply = {"content": "sure", "message_reference": {"message_id": "1"}}
    assert "allowed_mentions" in _paths(check_message(reply))
    assert "allowed_mentions.replied_user" in _paths(check_message({**reply, "allowed_mentions": {"parse": [], "replied_user": True}}))
    assert check_message({"content": "plain text"}) == []
    assert "allowed_mentions" in _paths(check_message({"content": "plain text"}, mention_policy="always"))
    assert check_message(ping, mention_policy="off") == []


def test_empty_message_and_error_shape() -> None:
    assert to_discord_error(check_message({"content": "   "})) == {"code": 50006, "message": "Cannot send an empty message"}
    assert check_message({"content": ""}, creating=False) == []
    body = to_discord_error(check_message({"content": "x" * 2001}))
    assert body["code"] == 50035
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"


def test_autocomplete_and_callback_limits() -> None:
    ok = {"choices": [{"name": "n" * 100, "value": "v" * 100}] * 25}
    assert check_autocomplete(ok) == []
    assert "data.choices" in _paths(check_autocomplete({"choices": [{"name": "n", "value": "v"}] * 26}))
    assert "data.choices.0.name" in _paths(check_autocomplete({"choices": [{"name": "n" * 101, "value": "v"}]}))
    assert "data.choices.0.value" in _paths(check_autocomplete({"choices": [{"name": "n", "value": "v" * 101}]}))
    # autocomplete interactions (type 4) can only be answered with type 8
    assert "type" in _paths(check_interaction_callback({"type": 4, "data": {"content": "x"}}, interaction_type=4))
    assert "data.content" in _paths(check_interaction_callback({"type": 4, "data": {"content": "x" * 2001}}, interaction_type=2))
    assert check_interaction_callback({"type": 5, "data": {"flags": 64}}, interaction_type=2) == []


def test_command_registration_limits() -> None:
    good = [{"name": "ask", "description": "Ask", "options": [{"type": 3, "name": "q", "description": "d", "required": True}]}]
    assert check_commands(good) == []
    bad = [{"name": "Ask Me", "description": "x" * 101, "options": [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": True},
    ]}]
    assert {"0.name", "0.description", "0.options.1.required"} <= _paths(check_commands(bad))


# --------------------------------------------------------------------------- end to end

BOT_PROGRAM = textwrap.dedent(
    '''
    import os

    import discord
    import yarl
    from discord.ext import commands

    discord.http.Route.BASE = os.environ["FAKE_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_GATEWAY"])
    NO_PINGS = discord.AllowedMentions.none()


    class Feedback(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id="smoke:helpful")
        async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            await interaction.response.send_message(
                f"Thanks {interaction.user.display_name}!", ephemeral=True, allowed_mentions=NO_PINGS
            )


    class SmokeBot(commands.Bot):
        async def setup_hook(self) -> None:
            self.add_view(Feedback())
            await self.tree.sync()


    intents = discord.Intents.default()
    intents.message_content = True
    bot = SmokeBot(command_prefix="!", intents=intents, guild_ready_timeout=0.2)


    @bot.tree.command(name="ask", description="Ask a PM question")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        embed = discord.Embed(title="Answer", description=f"You asked: {question}")
        await interaction.response.send_message(embed=embed, view=Feedback())


    @bot.event
    async def on_ready() -> None:
        print("READY", bot.user.id, flush=True)


    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content.startswith("!toolong"):
            try:
                await message.channel.send("x" * 2100, allowed_mentions=NO_PINGS)
            except discord.HTTPException as exc:
                await message.channel.send(f"too long rejected: {exc.status} {exc.code}", allowed_mentions=NO_PINGS)
            return
        if bot.user in message.mentions:
            await message.reply(f"Hi {message.author.mention}!", allowed_mentions=NO_PINGS)


    bot.run(os.environ["DISCORD_TOKEN"])
    '''
)


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bot_process(fake: FakeDiscord, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    script = tmp_path / "smoke_bot.py"
    script.write_text(BOT_PROGRAM)
    env = {**os.environ, "FAKE_API_BASE": fake.api_base, "FAKE_GATEWAY": fake.gateway_url, "DISCORD_TOKEN": "fake-token"}
    log = (tmp_path / "bot.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        if os.environ.get("FAKE_DISCORD_SHOW_LOG"):
            print((tmp_path / "bot.log").read_text())


def test_bot_end_to_end(fake: FakeDiscord, bot_process: subprocess.Popen[bytes], tmp_path: Path) -> None:
    def bot_log() -> str:
        return (tmp_path / "bot.log").read_text(errors="replace")

    try:
        identify = fake.wait_until_connected(timeout=90)
        assert identify["intents"] & (1 << 15), "message_content intent requested"
        commands = fake.wait_for_commands(["ask"], timeout=90)
        assert [c["name"] for c in commands] == ["ask"]

        # 1. a mention gets a reply that pings nobody
        sent = fake.send_message("general", "hello there", mentions_bot=True)
        assert sent["content"].startswith(f"<@{fake.bot_id}>")
        reply = fake.wait_for_message("general", content="Hi")
        assert reply.ok and reply.kind == "message.create"
        assert reply.json["allowed_mentions"] == {"parse": []}
        assert str(reply.json["message_reference"]["message_id"]) == sent["id"]

        # 2. the slash command answers with an embed and the persistent button
        handle = fake.send_slash_command("ask", {"question": "What does a PM do?"})
        callback = handle.wait_response()
        assert callback.ok and callback.response_type == 4
        assert callback.embeds[0]["description"] == "You asked: What does a PM do?"
        assert callback.components[0]["components"][0]["custom_id"] == "smoke:helpful"
        answer = handle.wait_message()
        assert answer["interaction_metadata"]["id"] == str(handle.id)

        # 3. clicking the button (click_button waits ~0.5 s after the message) gets a response
        click = fake.click_button(answer, "smoke:helpful", user=fake.moderator)
        thanks = click.wait_response()
        assert thanks.ok and thanks.response_type == 4
        assert thanks.payload["content"] == "Thanks Mary!"
        assert thanks.payload["flags"] & 64  # ephemeral
        assert [r.kind for r in fake.interaction_responses(click.id)] == ["interaction.callback"]

        # 4. an over-limit payload is rejected with a 400 and recorded
        fake.send_message("general", "!toolong")
        violation = fake.wait_for_violation()
        assert violation.kind == "limits" and violation.path == "/channels/%d/messages" % fake.channel_id("general")
        assert [e.path for e in violation.errors] == ["content"]
        rejected = fake.wait_for_message("general", content="too long rejected")
        assert rejected.message is not None and rejected.message["content"] == "too long rejected: 400 50035"

        assert len(fake.violations) == 1
        assert fake.unknown_routes == []
        assert fake.server_errors == []
        assert bot_process.poll() is None, "bot process died"
    except BaseException:
        print(bot_log())
        raise


# --------------------------------------------------------------------------- several guilds


def test_several_guilds_each_with_their_owner_roles_channels_and_members() -> None:
    with FakeDiscord() as fake:
        dev = fake.add_user("dev", "dana_dev", in_first_guild=True)
        fake.set_application_owner(dev)
        b_owner, b_mod = fake.add_user("b_owner", "bob"), fake.add_user("b_mod", "bea")
        b = fake.add_guild("B", guild_id=1_400_000_000_000_000_001, owner=b_owner, members={b_mod: ["Staff"], dev: []},
                           channel_names=("b-general",))
        with pytest.raises(ValueError, match="already used"):
            fake.add_guild("C", guild_id=1_500_000_000_000_000_001, owner=b_owner, channel_names=("b-general",))

        w = fake.world
        b_general = fake.channel("b-general")
        assert w.guild_of(b_general) is b and w.guild_of(fake.channel("general")).id == fake.guild_id
        assert w.permissions(b_owner, b_general) & MANAGE_GUILD, "each guild has its own owner"
        assert w.permissions(b_mod, b_general) & MANAGE_GUILD
        assert not w.permissions(dev, b_general) & MANAGE_GUILD
        assert not w.permissions(fake.moderator, b_general) & MANAGE_GUILD, "A's Staff role means nothing in B"
        assert w.member_roles(fake.moderator, b) is None and w.member_roles(b_mod, w.guild()) is None

        payload = build_interaction(w, interaction_id=1, token="t", itype=APPLICATION_COMMAND, data={"name": "x"},
                                    user=b_mod, channel=b_general, locale="en-US", attachment_size_limit=1)
        assert payload["guild_id"] == str(b.id)
        assert payload["member"]["roles"] == [str(b.role("Staff").id)]
        assert int(payload["member"]["permissions"]) & MANAGE_GUILD
        with pytest.raises(ValueError, match="not a member of B"):
            build_interaction(w, interaction_id=2, token="t", itype=APPLICATION_COMMAND, data={"name": "x"},
                              user=fake.moderator, channel=b_general, locale="en-US", attachment_size_limit=1)
        with pytest.raises(ValueError, match="not in B"):
            fake.send_message("b-general", "hi", author=fake.normal_user)

        create = fake._server.guild_payload(b, include_members=True)
        members = {m["user"]["id"]: m["roles"] for m in create["members"]}
        assert members[str(b_mod.id)] == [str(b.role("Staff").id)] and str(fake.bot_id) in members
        assert create["owner_id"] == str(b_owner.id)

        with urllib.request.urlopen(fake.api_base + "/applications/@me") as response:
            assert json.load(response)["owner"]["id"] == str(dev.id), "the application owner, apart from guild owners"


def test_a_thread_takes_its_parent_channels_permissions() -> None:
    """As on Discord, where a thread has no overwrites of its own: pmbot's checks read the thread's permissions."""
    with FakeDiscord() as fake:
        w = fake.world
        for parent, readable in (("general", True), (NO_HISTORY_CHANNEL, False)):
            thread = FakeChannel(id=fake.channel(parent).id + 1_000, name="t", type=PUBLIC_THREAD,
                                 parent_id=fake.channel(parent).id)
            assert bool(w.permissions(w.bot, thread) & READ_MESSAGE_HISTORY) is readable, parent
