"""End to end with two servers: who may change the shared knowledge, each server's own /config,
isolation of gaps and feedback, the audit trail, settings across a restart, retention, and
forgetting a server that removes the bot.

The fake serves two guilds: the first ("A", the fake's default) and "B", each with its own
owner, roles, channels and members. The application's owner ("dana_dev") is a plain member of
both: being an owner comes from the application info, not from any server's permissions.
Commands are synced globally first (``python -m bot sync``), as a public bot's are. No
PMBOT_HOME_GUILD: no server's moderators may change the knowledge.

Tests run in file order and build on each other (settings made early are checked after the
restart near the end); every user asks as themselves, so cooldowns never leak between tests.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import (
    EVENT_TIMEOUT,
    EPHEMERAL,
    RACI_INTENT,
    START_TIMEOUT,
    BotProcess,
    add_users,
    assert_no_pings,
    clean_env,
    custom_ids,
    db_rows,
    embed,
    files_in,
    replies_to,
    reply_to,
    run_cli,
    start_bot,
    wait_for_log,
    wait_ready,
)
from fake_discord import FakeDiscord, RecordedRequest
from fake_discord.models import EMBED_LINKS, MANAGE_THREADS, READ_MESSAGE_HISTORY
from fake_discord.world import READ_ONLY_CHANNEL

from bot.discord.checks import moderator_refusal, owner_refusal

GUILD_B = 1_400_000_000_000_000_001
# Stored and reported as normalised (lower case, plural "s" dropped): these are written that way already.
GAP_A = "how do i calibrate the zorblax frobnicator"
GAP_B = "which marmalade recipe suit a rainy picnic"
GAP_DM = "where can i buy vintage typewriter ribbon"
OLD = "2000-01-01T00:00:00.000000Z"


# -- two servers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True, default_timeout=EVENT_TIMEOUT).start()
    add_users(server, 12)
    dev = server.add_user("dev", "dana_dev", in_first_guild=True)
    server.set_application_owner(dev)
    server.add_user("listed_owner", "lee_listed", in_first_guild=True)
    b = {key: server.add_user(key, name) for key, name in (
        ("b_owner", "bob_owner"), ("b_mod", "bea_mod"), ("b_rolemod", "ravi_rolemod"), ("b_user", "bill"),
    )}
    askers = [server.add_user(f"b_asker{n}", f"b_asker{n}") for n in range(17)]
    server.add_guild(
        "Other Community", guild_id=GUILD_B, owner=b["b_owner"],
        members={b["b_mod"]: ["Staff"], b["b_rolemod"]: ["Moderators"], b["b_user"]: [], dev: [],
                 server.user("listed_owner"): [], **{a: [] for a in askers}},
        channel_names=("b-general", "b-help", "b-log"),
    )
    try:
        yield server
    finally:
        server.stop()


def bot_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "PMBOT_HOME_GUILD": "",
        "PMBOT_LISTEN_CHANNELS": str(fake.channel_id("pm-questions")),
        "PMBOT_MOD_LOG_CHANNEL": str(fake.channel_id("bot-log")),
        "PMBOT_OWNER_IDS": str(fake.user("listed_owner").id),
    }


class Running:
    """The module's bot process, which a test may restart on the same database."""

    def __init__(self, fake: FakeDiscord, workdir: Path, knowledge: Path) -> None:
        self.fake, self.workdir, self.knowledge = fake, workdir, knowledge
        self.process = self._start()

    def _start(self) -> BotProcess:
        seen = len(self.fake.identifies)
        process = start_bot(self.fake, self.workdir, self.knowledge, **bot_env(self.fake))
        wait_ready(self.fake, process, ("ask", "kb", "config"))
        self.fake.recorder.wait_until(lambda: len(self.fake.identifies) > seen or None, timeout=START_TIMEOUT,
                                      describe="the bot's IDENTIFY")
        return process

    def restart(self) -> None:
        assert self.process.terminate() == 0
        self.process = self._start()

    @property
    def database(self) -> Path:
        return self.process.database

    def log(self) -> str:
        return self.process.log()


@pytest.fixture(scope="module")
def bot(fake: FakeDiscord, workdir: Path, knowledge: Path) -> Iterator[Running]:
    env = clean_env(DISCORD_TOKEN="fake-token", DISCORD_API_BASE=fake.api_base,
                    DISCORD_GATEWAY_URL=fake.gateway_url, PMBOT_KNOWLEDGE=str(knowledge))
    done = run_cli(["sync"], env, workdir)  # global commands: the only ones server B gets
    assert done.returncode == 0, done.stderr
    running = Running(fake, workdir / "bot", knowledge)
    try:
        yield running
    finally:
        running.process.terminate()


# -- helpers ----------------------------------------------------------------------------------


def command(fake: FakeDiscord, name: str, options: dict[str, Any] | None, user: str, channel: str) -> RecordedRequest:
    """A slash command's private result (through any deferral); sent even where Discord would hide it."""
    handle = fake.send_slash_command(name, options, user=user, channel_id=channel, bypass_permissions=True)
    first = handle.wait_response(timeout=EVENT_TIMEOUT)
    assert first.ok and first.payload["flags"] & EPHEMERAL, first.summary()
    return handle.wait_followup(timeout=EVENT_TIMEOUT) if first.response_type == 5 else first


def text_of(request: RecordedRequest) -> str:
    """Everything a reply shows: content and embeds, as one string to search."""
    payload = request.payload or {}
    return (payload.get("content") or "") + json.dumps(request.embeds, ensure_ascii=False)


def mod_log_texts(fake: FakeDiscord, channel: str) -> list[str]:
    return [m["content"] for m in fake.messages_in(channel)]


def wait_mod_log(fake: FakeDiscord, channel: str, *words: str, since: int) -> str:
    posted = fake.wait_for_message(channel, since=since, predicate=lambda r: all(w in text_of(r) for w in words), timeout=EVENT_TIMEOUT)
    assert posted.payload["allowed_mentions"]["parse"] == [], "the audit trail pings nobody"
    return text_of(posted)


def settings_rows(database: Path, guild_id: int) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchall()


CONFIG_SUBCOMMANDS: dict[str, Any] = {
    "config show": lambda fake: None,
    "config help-channels add": lambda fake: {"channel": fake.channel("b-help")},
    "config help-channels remove": lambda fake: {"channel": fake.channel("b-help")},
    "config help-channels suggestions": lambda fake: {"offer": False},
    "config help-channels threads": lambda fake: {"on": True},
    "config moderator-roles add": lambda fake: {"role": fake.guild(GUILD_B).role("Moderators")},
    "config moderator-roles remove": lambda fake: {"role": fake.guild(GUILD_B).role("Moderators")},
    "config mod-log": lambda fake: {"channel": fake.channel("b-log")},
    "config cooldown": lambda fake: {"rate": 1, "seconds": 60},
    "config weekly-digest": lambda fake: {"on": True},
    "config answer-notes set": lambda fake: {"topic": "*", "note": "Ask more in #b-help"},
    "config answer-notes remove": lambda fake: {"topic": "*"},
    "config answer-notes show": lambda fake: None,
    "config reset": lambda fake: {"setting": "everything"},
}


# -- /config ------------------------------------------------------------------------------------


def test_the_refusal_test_covers_every_config_subcommand(fake: FakeDiscord, bot: Running) -> None:
    config = next(c for c in fake.global_commands if c["name"] == "config")
    names = set()
    for option in config["options"]:
        subs = option.get("options", []) if option["type"] == 2 else [option]
        names |= {f"config {option['name']} {s['name']}" if option["type"] == 2 else f"config {s['name']}" for s in subs}
    assert names == set(CONFIG_SUBCOMMANDS)
    assert int(config["default_member_permissions"]) == 1 << 5, "hidden from members without Manage Server..."


@pytest.mark.parametrize("name", sorted(CONFIG_SUBCOMMANDS))
def test_plain_members_are_refused_config(fake: FakeDiscord, bot: Running, name: str) -> None:
    # ...but a crafted or stale request is refused for real, in the subcommand groups too.
    handle = fake.send_slash_command(name, CONFIG_SUBCOMMANDS[name](fake), user="b_user", channel_id="b-general",
                                     bypass_permissions=True)
    response = handle.wait_response()
    assert response.ok and response.payload["flags"] & EPHEMERAL
    assert response.payload["content"] == moderator_refusal("config")
    assert [r.kind for r in handle.responses()] == ["interaction.callback"]
    assert settings_rows(bot.database, GUILD_B) == []


def test_a_moderator_sets_the_mod_log_and_every_change_is_posted_there(fake: FakeDiscord, bot: Running) -> None:
    since = fake.cursor()
    reply = command(fake, "config mod-log", {"channel": fake.channel("b-log")}, "b_mod", "b-general")
    assert fake.channel("b-log").mention in reply.payload["content"]
    posted = wait_mod_log(fake, "b-log", "Moderator log set to", "bea_mod", since=since)
    assert fake.channel("b-log").mention in posted
    assert "Moderator log" in bot.log()  # and in the log, with who
    assert not [t for t in mod_log_texts(fake, "bot-log") if "bea_mod" in t], "server A's log never hears of B's settings"


def test_help_channel_added_in_b_answers_unmentioned_questions_there_only(fake: FakeDiscord, bot: Running) -> None:
    ignored = fake.send_message("b-help", "What is a product manager?", author="b_asker0")
    sentinel = fake.send_message("b-help", "What is a product manager?", author="b_asker0", mentions_bot=True)
    reply_to(fake, sentinel)
    assert replies_to(fake, {ignored["id"]}) == [], "not a help channel yet: mentions only"

    since = fake.cursor()
    reply = command(fake, "config help-channels add", {"channel": fake.channel("b-help")}, "b_mod", "b-general")
    assert "is now a help channel" in reply.payload["content"]
    wait_mod_log(fake, "b-log", "Help channel", fake.channel("b-help").mention, "bea_mod", since=since)

    asked = fake.send_message("b-help", "What is a product manager?", author="b_asker1")
    assert embed(reply_to(fake, asked))["title"]

    elsewhere = fake.send_message("b-general", "What is a product manager?", author="b_asker2")
    sentinel = fake.send_message("b-general", "What is a product manager?", author="b_asker2", mentions_bot=True)
    reply_to(fake, sentinel)
    assert replies_to(fake, {elsewhere["id"]}) == [], "other channels stay mention-only"

    show = command(fake, "config show", None, "b_mod", "b-general").payload["content"]
    assert "Help channels (set here)" in show and fake.channel("b-help").mention in show
    assert fake.channel("pm-questions").mention not in show, "server A's default help channel is not B's"


def test_a_server_keeps_did_you_mean_out_of_its_help_channels(fake: FakeDiscord, bot: Running) -> None:
    """Off: a help channel hears only answers pmbot is sure of; a mention still gets its "Did you mean…"."""
    command(fake, "config help-channels add", {"channel": fake.channel("b-help")}, "b_mod", "b-general")
    unsure = "what does a PM do"
    assert embed(reply_to(fake, fake.send_message("b-help", unsure, author="b_asker7")))["title"] == "Did you mean…"

    since = fake.cursor()
    reply = command(fake, "config help-channels suggestions", {"offer": False}, "b_mod", "b-general")
    assert "only answers I am sure of" in reply.payload["content"]
    wait_mod_log(fake, "b-log", "Help channel replies set to only answers I am sure of", "bea_mod", since=since)
    show = command(fake, "config show", None, "b_mod", "b-general").payload["content"]
    assert "Help channel replies (set here): only answers I am sure of" in show

    unasked = fake.send_message("b-help", unsure, author="b_asker7")
    asked = fake.send_message("b-help", unsure, author="b_asker7", mentions_bot=True)
    assert embed(reply_to(fake, asked))["title"] == "Did you mean…"
    assert replies_to(fake, {unasked["id"]}) == []
    assert embed(reply_to(fake, fake.send_message("b-help", "What is a product manager?", author="b_asker7")))["title"]

    command(fake, "config reset", {"setting": "help-channel-suggestions"}, "b_mod", "b-general")
    show = command(fake, "config show", None, "b_mod", "b-general").payload["content"]
    assert 'Help channel replies (default): answers, and "Did you mean…" when unsure' in show


def test_a_server_has_its_help_channel_answers_in_threads(fake: FakeDiscord, bot: Running) -> None:
    """On: each help channel question gets a thread of its own for its answer; edits and deletions find it there."""
    since = fake.cursor()
    reply = command(fake, "config help-channels threads", {"on": True}, "b_mod", "b-general")
    assert "in a thread started on the question" in reply.payload["content"]
    wait_mod_log(fake, "b-log", "Help channel answers now go in a thread started on the question", since=since)
    assert "Help channel answers go (set here): in a thread" in command(fake, "config show", None, "b_mod", "b-general").payload["content"]

    since = fake.cursor()
    asked = fake.send_message("b-help", "What is a product manager?\nAsking for a friend", author="b_asker11")
    started = fake.wait_for(lambda r: r.kind == "thread.create" and r.ok, since=since)
    thread = fake.channel(int(asked["id"]))
    assert thread.is_thread and thread.parent_id == fake.channel("b-help").id
    answer = fake.wait_for_message(thread.id, since=since)
    assert answer.embeds and started.json["name"] == answer.embeds[0]["title"], "named after its answer, no member's words"
    assert "message_reference" not in (answer.json or {}), "inside the thread, under the question it was started on"
    assert replies_to(fake, {asked["id"]}) == [], "nothing in the channel itself"

    fake.edit_message(asked, "What is a project manager?")  # the answer in the thread changes with the question
    edited = fake.wait_for(lambda r: r.kind == "message.edit" and r.ok and r.message_id == int(answer.message["id"]))
    assert edited.json["embeds"][0]["title"] != answer.embeds[0]["title"]
    fake.delete_messages(asked)
    fake.wait_for(lambda r: r.kind == "message.delete" and r.ok and r.message_id == int(answer.message["id"]))
    assert fake.channel(thread.id).is_thread, "pmbot may not delete threads here: the emptied thread stays"

    mentioned = fake.send_message("b-general", "What is a product manager?", author="b_asker12", mentions_bot=True)
    assert embed(reply_to(fake, mentioned))["title"], "elsewhere, a reply as before"
    command(fake, "config reset", {"setting": "help-channel-threads"}, "b_mod", "b-general")
    asked = fake.send_message("b-help", "What is scope creep?", author="b_asker12")
    assert embed(reply_to(fake, asked))["title"], "off again: a reply in the channel"


def test_a_deleted_question_takes_its_thread_where_pmbot_may_manage_threads(fake: FakeDiscord, bot: Running) -> None:
    """With Manage Threads, the thread pmbot started for a question goes with the question: emptied, named after an
    answer to nothing, it would stay in the channel's thread list. Not where a member wrote in it."""
    bot_role = next(role for role in fake.guild(GUILD_B).roles.values() if role.bot_id == fake.bot_id)
    fake.set_overwrites("b-help", [{"id": str(bot_role.id), "type": 0, "allow": str(MANAGE_THREADS), "deny": "0"}])
    command(fake, "config help-channels threads", {"on": True}, "b_mod", "b-general")
    try:
        since = fake.cursor()
        asked = fake.send_message("b-help", "What is a product owner?", author="b_asker13")
        fake.wait_for(lambda r: r.kind == "thread.create" and r.ok, since=since)
        fake.wait_for_message(int(asked["id"]), since=since)
        fake.delete_messages(asked)
        assert fake.wait_for(lambda r: r.kind == "channel.delete" and r.channel_id == int(asked["id"]), since=since).ok
        with pytest.raises(KeyError):
            fake.channel(int(asked["id"]))

        since = fake.cursor()
        asked = fake.send_message("b-help", "What is scope creep?", author="b_asker14")
        fake.wait_for(lambda r: r.kind == "thread.create" and r.ok, since=since)
        answer = fake.wait_for_message(int(asked["id"]), since=since)
        fake.send_message(int(asked["id"]), "ok, so that is what keeps happening to our roadmap", author="b_asker13")
        fake.delete_messages(asked)
        fake.wait_for(lambda r: r.kind == "message.delete" and r.ok and r.message_id == int(answer.message["id"]))
        assert fake.channel(int(asked["id"])).is_thread, "a member's words in it keep the thread"
        assert [r for r in fake.sent[since:] if r.kind == "channel.delete"] == []
    finally:
        command(fake, "config reset", {"setting": "help-channel-threads"}, "b_mod", "b-general")
        fake.set_overwrites("b-help", [])


def test_a_help_channel_pmbot_may_not_post_in_gets_its_answers_in_threads(fake: FakeDiscord, bot: Running) -> None:
    """A server may keep pmbot's answers out of a channel and let it answer in threads there: Send Messages denied,
    Create Public Threads and Send Messages in Threads allowed."""
    locked = fake.channel(READ_ONLY_CHANNEL)
    added = command(fake, "config help-channels add", {"channel": locked}, "moderator", "general")
    assert f"⚠️ I may not post in {locked.mention}: give my role Send Messages" in text_of(added), "answers as replies"
    command(fake, "config help-channels threads", {"on": True}, "moderator", "general")
    assert "⚠️" not in text_of(command(fake, "config show", None, "moderator", "general")), "in threads it may"
    since = fake.cursor()
    asked = fake.send_message(READ_ONLY_CHANNEL, "What is a product manager?", author="asker6")
    fake.wait_for(lambda r: r.kind == "thread.create" and r.ok, since=since)
    answer = fake.wait_for_message(int(asked["id"]), since=since)
    assert answer.embeds and answer.embeds[0]["title"], "answered in the thread started on the question"
    for setting in ("help-channels", "help-channel-threads"):
        command(fake, "config reset", {"setting": setting}, "moderator", "general")


def test_without_embed_links_an_answer_goes_as_text_with_its_buttons(fake: FakeDiscord, bot: Running) -> None:
    """Servers deny Embed Links to everyone in chat channels to keep link previews out. Discord then refuses a
    message of embeds alone, and pmbot said nothing there: its answers now go as text, and `/config show` says so."""
    help_channel = fake.channel("b-help")
    fake.set_overwrites("b-help", [{"id": str(GUILD_B), "type": 0, "allow": "0", "deny": str(EMBED_LINKS)}])
    try:
        shown = text_of(command(fake, "config show", None, "b_mod", "b-general"))
        assert f"In {help_channel.mention}, my answers go as plain text (give my role Embed Links there" in shown
        asked = fake.send_message("b-help", "What is scope creep? @everyone", author="b_asker15")
        answer = reply_to(fake, asked)
        text = answer.json["content"]
        assert not answer.embeds and text.startswith("**What is scope creep?**\n\n") and len(text) <= 2000
        assert any(i.startswith("pmbot:vote:") for i in custom_ids(answer)), "its buttons work as under an embed"
        assert_no_pings(answer.json)

        since = fake.cursor()
        fake.edit_message(asked, "What is a product owner?")
        edited = fake.wait_for(lambda r: r.kind == "message.edit" and r.message_id == answer.message_id, since=since)
        assert edited.ok and edited.json["content"].startswith("**") and not edited.embeds
        assert edited.json["content"] != text
    finally:
        fake.set_overwrites("b-help", [])
    since = fake.cursor()
    fake.edit_message(asked, "What is scope creep?")
    restored = fake.wait_for(lambda r: r.kind == "message.edit" and r.message_id == answer.message_id, since=since)
    assert restored.ok and embed(restored)["title"] == "What is scope creep?" and not restored.content


def test_without_read_message_history_an_answer_names_its_asker_instead_of_replying(fake: FakeDiscord, bot: Running) -> None:
    """Discord refuses a reply where pmbot may not read the channel's history: the answer goes to the channel
    instead, naming whom it answers without pinging them."""
    fake.set_overwrites("b-help", [{"id": str(GUILD_B), "type": 0, "allow": "0", "deny": str(READ_MESSAGE_HISTORY)}])
    try:
        shown = text_of(command(fake, "config show", None, "b_mod", "b-general"))
        assert f"In {fake.channel('b-help').mention}, my answers name their asker instead of replying" in shown
        since = fake.cursor()
        fake.send_message("b-help", "What is scope creep?", author="b_asker16")
        answer = fake.wait_for(lambda r: r.kind == "message.create" and r.channel_id == fake.channel("b-help").id,
                               since=since)
        asker = fake.world.resolve_user("b_asker16")
        assert answer.ok and "message_reference" not in answer.json and answer.content == f"<@{asker.id}>"
        assert embed(answer)["title"] == "What is scope creep?"
        assert_no_pings(answer.json)

        command(fake, "config help-channels threads", {"on": True}, "b_mod", "b-general")
        threaded = text_of(command(fake, "config show", None, "b_mod", "b-general"))
        assert "name their asker" not in threaded, "an answer in a thread started on its question replies to nothing"
        assert f"In {fake.channel('b-help').mention}, an edited question gets no new answer" in threaded
    finally:
        command(fake, "config reset", {"setting": "help-channel-threads"}, "b_mod", "b-general")
        fake.set_overwrites("b-help", [])


def test_a_moderator_role_set_with_config_counts_in_that_server_only(fake: FakeDiscord, bot: Running) -> None:
    refused = fake.send_slash_command("kb status", user="b_rolemod", channel_id="b-general", bypass_permissions=True)
    assert refused.wait_response().payload["content"] == moderator_refusal("kb")

    since = fake.cursor()
    command(fake, "config moderator-roles add", {"role": fake.guild(GUILD_B).role("Moderators")}, "b_mod", "b-general")
    wait_mod_log(fake, "b-log", "Moderator role", "bea_mod", since=since)
    status = command(fake, "kb status", None, "b_rolemod", "b-general")
    assert embed(status)["title"] == "Knowledge status"


# -- the shared knowledge ---------------------------------------------------------------------------


@pytest.mark.parametrize("user, channel", [
    ("b_owner", "b-general"), ("b_mod", "b-general"), ("owner", "general"), ("moderator", "general"),
])
@pytest.mark.parametrize("sub", ["reload", "upload", "rollback"])
def test_server_owners_and_moderators_may_not_change_the_shared_knowledge(
    fake: FakeDiscord, bot: Running, knowledge: Path, user: str, channel: str, sub: str
) -> None:
    before = files_in(knowledge)
    start = fake.cursor()
    options = {"file": fake.attach_file("raci.yaml", RACI_INTENT.encode())} if sub == "upload" else None
    handle = fake.send_slash_command(f"kb {sub}", options, user=user, channel_id=channel)
    response = handle.wait_response()
    assert response.ok and response.payload["flags"] & EPHEMERAL
    assert response.payload["content"] == owner_refusal(f"kb {sub}")
    assert "every server" in response.payload["content"], "the refusal says why"
    assert not [r for r in fake.sent[start:] if r.kind == "cdn.download"], "an upload is not even downloaded"
    assert files_in(knowledge) == before


def test_the_application_owner_changes_the_knowledge_and_every_mod_log_hears(
    fake: FakeDiscord, bot: Running, knowledge: Path
) -> None:
    since = fake.cursor()
    uploaded = command(fake, "kb upload", {"file": fake.attach_file("raci.yaml", RACI_INTENT.encode())}, "dev", "b-general")
    assert embed(uploaded)["title"] == "Uploaded raci.yaml"
    assert (knowledge / "raci.yaml").exists()
    for log_channel in ("b-log", "bot-log"):  # B's own, and the host's default (in A)
        wait_mod_log(fake, log_channel, "raci.yaml", "dana_dev", "raci-basics", since=since)

    since = fake.cursor()
    command(fake, "kb rollback", None, "dev", "b-general")
    assert not (knowledge / "raci.yaml").exists()
    for log_channel in ("b-log", "bot-log"):
        wait_mod_log(fake, log_channel, "rolled back", "dana_dev", since=since)
    assert "dana_dev" in bot.log()


def test_an_owner_listed_in_pmbot_owner_ids_may_reload(fake: FakeDiscord, bot: Running) -> None:
    since = fake.cursor()
    reloaded = command(fake, "kb reload", None, "listed_owner", "b-general")
    assert embed(reloaded)["title"] == "Knowledge reloaded"
    wait_mod_log(fake, "b-log", "Knowledge reloaded", "lee_listed", since=since)


# -- isolation ----------------------------------------------------------------------------------------


def test_gaps_and_feedback_never_cross_servers_and_dms_are_for_owners(fake: FakeDiscord, bot: Running) -> None:
    asked_in_b = None
    for channel, text, author in (("general", GAP_A, "asker0"), ("b-general", GAP_B, "b_asker3")):
        asked_in_b = fake.send_message(channel, text, author=author, mentions_bot=True)
        reply_to(fake, asked_in_b)
    reply_to(fake, fake.send_dm(GAP_DM, author="stranger"))
    recorded = db_rows(bot.database, "SELECT text FROM unanswered_questions WHERE text IN (?, ?, ?)",
                       (GAP_A, GAP_B, GAP_DM), want=3)
    assert len(recorded) == 3

    # 👎 on an answer in each server (not to a question the knowledge holds word for word: there the answer needs
    # work, not the matching, and /kb feedback says so).
    asked_a, asked_b = "so what is project management exactly?", "what does a product manager actually do all day?"
    answer_a = reply_to(fake, fake.send_message("general", asked_a, author="asker1", mentions_bot=True))
    answer_b = reply_to(fake, fake.send_message("b-general", asked_b, author="b_asker4",
                                                mentions_bot=True))
    intents = {}
    for answer, voter in ((answer_a, "asker1"), (answer_b, "b_asker4")):
        down = next(c["custom_id"] for row in answer.components for c in row["components"]
                    if c.get("custom_id", "").startswith("pmbot:vote:down:"))
        intents[voter] = down.rsplit(":", 1)[1]
        fake.click_button(answer, down, user=voter).wait_response()
    assert intents["asker1"] != intents["b_asker4"]
    db_rows(bot.database, "SELECT 1 FROM feedback_votes", want=2)

    def seen(report: str, user: str, channel: str) -> str:
        return text_of(command(fake, f"kb {report}", None, user, channel))

    in_b = seen("gaps", "b_mod", "b-general")
    assert GAP_B in in_b and GAP_A not in in_b and GAP_DM not in in_b
    link = f"https://discord.com/channels/{GUILD_B}/{fake.channel('b-general').id}/{asked_in_b['id']}"
    assert f"[latest]({link})" in in_b, "a moderator opens the question in its conversation"
    in_a = seen("gaps", "moderator", "general")
    assert GAP_A in in_a and GAP_B not in in_a and GAP_DM not in in_a
    assert f"{asked_a}”\\n  answered `{intents['asker1']}`, voted 👎" in in_a, "a 👎 makes a gap"
    assert asked_b in in_b and asked_a not in in_b
    voted_down = text_of(command(fake, "kb gaps", {"downvoted": True}, "moderator", "general"))
    assert "Answers voted 👎" in voted_down and asked_a in voted_down and GAP_A not in voted_down
    owner_in_b = seen("gaps", "dev", "b-general")
    assert GAP_B in owner_in_b and GAP_DM in owner_in_b and GAP_A not in owner_in_b

    feedback_b = seen("feedback", "b_mod", "b-general")
    assert intents["b_asker4"] in feedback_b and intents["asker1"] not in feedback_b
    feedback_a = seen("feedback", "moderator", "general")
    assert intents["asker1"] in feedback_a and intents["b_asker4"] not in feedback_a


def test_a_servers_gaps_as_a_spreadsheet_hold_its_own_questions_only(fake: FakeDiscord, bot: Running) -> None:
    done = command(fake, "kb gaps", {"spreadsheet": True}, "b_mod", "b-general")
    [attached] = done.files
    assert attached.filename == "pmbot-gaps-30d.csv" and "most asked first" in text_of(done)
    header, *rows = csv.reader(io.StringIO(attached.data.decode("utf-8-sig")))
    assert header[:2] == ["asked", "question"]
    assert GAP_B in [row[1] for row in rows] and not {GAP_A, GAP_DM} & {row[1] for row in rows}
    assert done.payload.get("embeds") in (None, []) and not done.payload.get("components"), "a file, no pickers"


def test_a_member_sees_and_deletes_what_pmbot_keeps_about_them_in_every_server(fake: FakeDiscord, bot: Running) -> None:
    voter, voter_id = "dev", fake.user("dev").id  # a plain member of both servers
    for channel in ("general", "b-general"):
        answer = reply_to(fake, fake.send_message(channel, "What is a product roadmap?", author=voter, mentions_bot=True))
        up = next(c["custom_id"] for row in answer.components for c in row["components"]
                  if c.get("custom_id", "").startswith("pmbot:vote:up:"))
        fake.click_button(answer, up, user=voter).wait_response()
    votes = "SELECT message_id FROM feedback_votes WHERE user_id = ?"
    db_rows(bot.database, votes, (voter_id,), want=2)
    others = db_rows(bot.database, "SELECT message_id, user_id FROM feedback_votes WHERE user_id != ?", (voter_id,))

    shown = command(fake, "privacy show", None, voter, "b-general")
    assert "👍/👎 votes on answers: **2**" in text_of(shown), "both servers' votes, wherever it is asked"
    assert "without who asked them" in text_of(shown), "this host does not store who asked"
    [copy] = shown.files
    data = json.loads(copy.data)
    assert sorted(v["server"] for v in data["votes"]) == sorted(str(g) for g in (fake.guild_id, GUILD_B))
    assert {v["vote"] for v in data["votes"]} == {"👍"} and data["questions"] == []
    forgot = text_of(command(fake, "privacy forget", None, voter, "general"))
    assert "2 👍/👎 vote(s) and 0 question(s)" in forgot
    assert db_rows(bot.database, votes, (voter_id,), want=0) == []
    assert db_rows(bot.database, "SELECT message_id, user_id FROM feedback_votes WHERE user_id != ?", (voter_id,)) == others, \
        "nobody else's"
    assert "pmbot keeps nothing that names you" in text_of(command(fake, "privacy forget", None, voter, "b-general"))
    nothing = command(fake, "privacy show", None, voter, "general")
    assert "votes on answers: **0**" in text_of(nothing) and not nothing.files


def test_a_moderator_dismisses_a_gap_from_their_servers_list_only(fake: FakeDiscord, bot: Running) -> None:
    chat = "who wants to grab lunch after the standup"
    for channel, text, author in (("general", chat, "asker4"), ("general", chat.capitalize() + "?!", "asker5"),
                                  ("b-general", chat, "b_asker7")):
        reply_to(fake, fake.send_message(channel, text, author=author, mentions_bot=True))
    db_rows(bot.database, "SELECT 1 FROM unanswered_questions WHERE text LIKE '%grab lunch%'", want=3)

    gaps = command(fake, "kb gaps", None, "moderator", "general")
    [picker] = [c for row in gaps.components for c in row["components"] if c.get("custom_id") == "pmbot:dismiss"]
    [lunch] = [o["value"] for o in picker["options"] if "grab lunch" in o["label"]]

    crafted = fake.select(gaps, "pmbot:dismiss", [lunch], user="asker3")  # a plain member's forged click
    assert crafted.wait_response().payload["content"] == moderator_refusal("kb gaps")
    since = fake.cursor()
    picked = fake.select(gaps, "pmbot:dismiss", [lunch], user="moderator")
    picked.wait_response()
    done = picked.wait_followup()
    assert embed(done)["title"] == "Dismissed" and "2 recorded questions" in embed(done)["description"]
    assert done.payload["flags"] & EPHEMERAL
    logged = wait_mod_log(fake, "bot-log", "Dismissed 1 gap(s)", since=since)
    assert "grab lunch" not in logged, "counted, not quoted: an owner's list holds DMs' questions"

    assert db_rows(bot.database, "SELECT guild_id FROM unanswered_questions WHERE text LIKE '%grab lunch%'") == [(GUILD_B,)]
    assert "grab lunch" not in text_of(command(fake, "kb gaps", None, "moderator", "general"))
    assert "grab lunch" in text_of(command(fake, "kb gaps", None, "b_mod", "b-general")), "server B's list is its own"
    again = fake.select(gaps, "pmbot:dismiss", [lunch], user="moderator")
    again.wait_response()
    assert embed(again.wait_followup())["title"] == "Nothing dismissed"

    reply_to(fake, fake.send_message("general", chat, author="asker3", mentions_bot=True))  # the same chat next week
    reply_to(fake, fake.send_message("general", "how do I tune a theremin", author="asker3", mentions_bot=True))
    db_rows(bot.database, "SELECT 1 FROM unanswered_questions WHERE text LIKE '%theremin%'")  # recorded after it
    assert db_rows(bot.database, "SELECT guild_id FROM unanswered_questions WHERE text LIKE '%grab lunch%'") == [(GUILD_B,)]
    assert "grab lunch" not in text_of(command(fake, "kb gaps", None, "moderator", "general")), "it stays dismissed"


def pickers(request: RecordedRequest, prefix: str) -> list[dict[str, Any]]:
    return [c for row in request.components for c in row["components"] if c.get("custom_id", "").startswith(prefix)]


def settle(fake: FakeDiscord, message: RecordedRequest, custom_id: str, values: list[str], user: str) -> dict[str, Any]:
    """A pick in a deferred picker, and the embed it answers with."""
    picked = fake.select(message, custom_id, values, user=user)
    picked.wait_response()
    return embed(picked.wait_followup(timeout=EVENT_TIMEOUT))


def test_a_servers_moderators_propose_a_gap_and_an_owner_turns_it_down_then_teaches_it(
    fake: FakeDiscord, bot: Running, knowledge: Path
) -> None:
    asked = "Who hires the gaffer, the line producer or the showrunner?"  # falls back with the shipped knowledge
    for author in ("b_asker8", "b_asker9", "b_asker10", "b_user"):  # the most asked of server B's gaps
        reply_to(fake, fake.send_message("b-general", asked, author=author, mentions_bot=True))
    db_rows(bot.database, "SELECT 1 FROM unanswered_questions WHERE text LIKE '%gaffer%'", want=4)

    gaps = command(fake, "kb gaps", {"limit": 1}, "b_mod", "b-general")
    assert pickers(gaps, "pmbot:teach:") == [], "a server's moderator may not teach the shared knowledge"
    [picker] = pickers(gaps, "pmbot:propose:")
    assert asked in picker["placeholder"] and "propose it to pmbot's owners" in picker["placeholder"]
    intent = picker["options"][0]["value"]
    forged = fake.select(gaps, picker["custom_id"], [intent], user="b_user")
    assert forged.wait_response().payload["content"] == moderator_refusal("kb gaps")

    def propose() -> None:
        since = fake.cursor()
        assert settle(fake, gaps, picker["custom_id"], [intent], "b_mod")["title"] == "Proposed"
        assert f"Proposed “{asked}” to pmbot's owners as {intent}" in wait_mod_log(fake, "b-log", "Proposed", since=since)
        notice = wait_mod_log(fake, "bot-log", "Other Community", "/kb proposals", since=since)
        assert "gaffer" not in notice, "the host's log is told, not shown: its readers are not all owners"
        assert f"proposed as `{intent}`" in text_of(command(fake, "kb gaps", {"limit": 1}, "b_mod", "b-general"))

    propose()
    assert command(fake, "kb proposals", None, "moderator", "general").payload["content"] == owner_refusal("kb proposals")
    review = command(fake, "kb proposals", None, "dev", "general")  # an owner, in server A
    assert asked in text_of(review) and f"as `{intent}` · Other Community" in text_of(review)
    [decline] = pickers(review, "pmbot:proposals:decline")
    since = fake.cursor()
    assert settle(fake, review, decline["custom_id"], [decline["options"][0]["value"]], "dev")["title"] == "Turned down"
    wait_mod_log(fake, "b-log", "turned down the proposal", asked, since=since)
    assert "No proposal is waiting" in text_of(command(fake, "kb proposals", None, "dev", "general"))
    assert "proposed as" not in text_of(command(fake, "kb gaps", {"limit": 1}, "b_mod", "b-general"))

    propose()  # again: the picker under the old /kb gaps still works
    review = command(fake, "kb proposals", None, "dev", "general")
    [teach] = pickers(review, "pmbot:proposals:teach")
    assert settle(fake, review, teach["custom_id"], [teach["options"][0]["value"]], "dev")["title"] == "Taught"
    assert f"- {asked}\n" in "".join(f.read_text() for f in knowledge.glob("*.yaml"))
    assert "No proposal is waiting" in text_of(command(fake, "kb proposals", None, "dev", "general"))
    assert asked not in text_of(command(fake, "kb gaps", None, "b_mod", "b-general")), "a taught gap closes"


def usage(fake: FakeDiscord, user: str, channel: str) -> dict[str, Any]:
    """/kb stats as numbers: {"answered": n, "offered": n, "not answered": n}, and its most answered field."""
    shown = embed(command(fake, "kb stats", None, user, channel))
    counts = {label: int(n) for n, label in re.findall(r"\*\*(\d+)\*\* (answered|offered|not answered)", shown.get("description", ""))}
    return {**counts, "most": " ".join(f["value"] for f in shown.get("fields", []))}


def test_each_server_counts_its_own_replies_in_kb_stats(fake: FakeDiscord, bot: Running) -> None:
    before_a, before_b = usage(fake, "moderator", "general"), usage(fake, "b_mod", "b-general")
    answered = set()
    for text, author in (("What is a product roadmap?", "b_asker8"), ("What does a product manager do?", "b_asker9"),
                         ("how do I calibrate the zorblax frobnicator", "b_asker10")):
        reply = reply_to(fake, fake.send_message("b-general", text, author=author, mentions_bot=True))
        answered |= {c["custom_id"].rsplit(":", 1)[1] for row in reply.components for c in row["components"]
                     if c.get("custom_id", "").startswith("pmbot:vote:up:")}
    after_b = usage(fake, "b_mod", "b-general")
    assert after_b["answered"] == before_b.get("answered", 0) + 2 and len(answered) == 2
    assert after_b["not answered"] == before_b.get("not answered", 0) + 1
    assert all(f"`{intent}`" in after_b["most"] for intent in answered)
    assert usage(fake, "moderator", "general") == before_a, "server A counts only its own"
    assert usage(fake, "dev", "b-general") == after_b, "an owner reads the server's own numbers, DMs not added"

    reply_to(fake, fake.send_message("b-general", "What is a product roadmap?", author="b_asker8", mentions_bot=True))
    bot.restart()  # a reply counted since the last /kb stats is added to the store on the way down, once
    after_restart = usage(fake, "b_mod", "b-general")
    assert after_restart["answered"] == after_b["answered"] + 1 and after_restart["not answered"] == after_b["not answered"]


def test_a_server_that_asks_gets_its_own_weekly_digest_in_its_mod_log(fake: FakeDiscord, bot: Running) -> None:
    def digests(channel: str, since: int) -> list[str]:
        posted = (json.dumps(m.get("embeds") or [], ensure_ascii=False) for m in fake.messages_in(channel)[since:])
        return [text for text in posted if "the last 7 days" in text]

    b_before, a_before = len(fake.messages_in("b-log")), len(fake.messages_in("bot-log"))
    done = command(fake, "config weekly-digest", {"on": True}, "b_mod", "b-general")
    assert "starting now" in text_of(done), "the first one goes out at once"
    [digest] = digests("b-log", b_before)
    assert re.search(r"\*\*\d+\*\* questions replied to", digest) and "Most answered" in digest
    assert GAP_B in digest, "with the gaps asked most"
    assert "so what is project management exactly?" not in digest, "server A's gap is A's"
    assert digests("bot-log", a_before) == [], "server A asked for none"
    assert "Weekly digest in the moderator log (set here): on" in command(fake, "config show", None, "b_mod", "b-general").payload["content"]

    again = command(fake, "config weekly-digest", {"on": True}, "b_mod", "b-general")
    assert "less than 7 days ago" in text_of(again) and len(digests("b-log", b_before)) == 1, "one a week"


def test_a_mod_log_pmbot_may_not_post_in_is_named_and_not_posted_to(fake: FakeDiscord, bot: Running) -> None:
    since = fake.cursor()
    locked = fake.channel(READ_ONLY_CHANNEL)
    set_log = command(fake, "config mod-log", {"channel": locked}, "moderator", "general")
    warning = f"⚠️ I may not post in {locked.mention}: give my role Send Messages in that channel."
    assert warning in text_of(set_log)
    assert warning in text_of(command(fake, "config show", None, "moderator", "general")), "and so does /config show"
    digest = command(fake, "config weekly-digest", {"on": True}, "moderator", "general")
    assert "could not post this week's there: I will try again every hour" in text_of(digest)
    assert "give my role Send Messages" in text_of(digest)
    assert db_rows(bot.database, "SELECT 1 FROM digests WHERE guild_id = ?", (fake.guild_id,), want=0) == [], \
        "the week is not claimed: the first check after the permission is granted sends it"
    assert [r.summary() for r in fake.sent[since:] if r.channel_id == locked.id] == [], \
        "no request Discord would refuse: each counts towards its invalid request limit"
    for setting in ("mod-log", "weekly-digest"):
        command(fake, "config reset", {"setting": setting}, "moderator", "general")


def test_a_mod_log_without_embed_links_gets_its_posts_as_text(fake: FakeDiscord, bot: Running) -> None:
    """Servers deny Embed Links to keep link previews out, in their moderators' channels too, and Discord refuses a
    message of embeds alone there. pmbot posted nothing to such a log, not even a change of text alone: its changes
    and the weekly digest now go there as text, and `/config show` says so."""
    log_channel = fake.channel("bot-log")
    fake.set_overwrites("bot-log", [{"id": str(fake.guild_id), "type": 0, "allow": "0", "deny": str(EMBED_LINKS)}])
    try:
        shown = text_of(command(fake, "config show", None, "moderator", "general"))
        assert f"In {log_channel.mention}, my posts go as plain text (give my role Embed Links there" in shown
        since = fake.cursor()
        assert "starting now" in text_of(command(fake, "config weekly-digest", {"on": True}, "moderator", "general"))
        wait_mod_log(fake, "bot-log", "Weekly digest turned on", since=since)
        digest = fake.wait_for_message("bot-log", since=since, predicate=lambda r: "the last 7 days" in text_of(r))
        assert not digest.embeds and digest.json["content"].startswith("**pmbot here, the last 7 days**")
        assert "questions replied to" in digest.json["content"] and len(digest.json["content"]) <= 2000
        assert_no_pings(digest.json)
    finally:
        fake.set_overwrites("bot-log", [])
        command(fake, "config reset", {"setting": "weekly-digest"}, "moderator", "general")


def notes_under(reply: RecordedRequest) -> list[str]:
    """What a server's moderators put under this answer ("From this server"), if anything."""
    return [f["value"] for f in embed(reply).get("fields", []) if f["name"] == "From this server"]


def test_a_servers_notes_go_under_its_own_answers_only(fake: FakeDiscord, bot: Running) -> None:
    gantt, owner = "What is a Gantt chart?", "What is a product owner?"
    topic = next(c for c in fake.send_autocomplete("config", {"topic": "gantt", "note": ""}, "topic",
                                                   subcommand_group="answer-notes", subcommand="set",
                                                   user="moderator", channel_id="general").wait_choices())
    assert topic["value"] == "project-schedule-techniques" and "Gantt" in topic["name"]
    def offered(typed: str) -> list[dict[str, Any]]:
        return fake.send_autocomplete("config", {"topic": typed, "note": ""}, "topic", subcommand_group="answer-notes",
                                      subcommand="set", user="moderator", channel_id="general").wait_choices()

    assert offered("")[0] == offered("Every")[0] == {"name": "Every answer", "value": "*"}
    assert "*" not in [c["value"] for c in offered("a")], "the start of a question (agile…) is not every answer"

    since = fake.cursor()
    ours = f"Our schedule templates are pinned in {fake.channel('general').mention}."
    done = command(fake, "config answer-notes set", {"topic": topic["value"], "note": ours}, "moderator", "general")
    assert ours in done.payload["content"] and "Gantt" in done.payload["content"]
    wait_mod_log(fake, "bot-log", "Note under", "project-schedule-techniques", "set", since=since)
    command(fake, "config answer-notes set", {"topic": "*", "note": "Questions for people: @everyone in #general"},
            "moderator", "general")
    refused = command(fake, "config answer-notes set", {"topic": "no-such-answer", "note": "x"}, "moderator", "general")
    assert "I have no answer" in refused.payload["content"]

    asked = reply_to(fake, fake.send_message("general", gantt, author="asker7", mentions_bot=True))
    assert notes_under(asked) == [f"{ours}\n\nQuestions for people: @everyone in #general"]
    assert asked.payload["allowed_mentions"]["parse"] == [], "a note pings nobody, whatever it says"
    assert notes_under(reply_to(fake, fake.send_message("general", owner, author="asker7", mentions_bot=True))) == [
        "Questions for people: @everyone in #general"]
    slash = fake.send_slash_command("ask", {"question": gantt}, user="asker7", channel_id="general").wait_response()
    assert notes_under(slash) == [f"{ours}\n\nQuestions for people: @everyone in #general"]
    assert notes_under(reply_to(fake, fake.send_message("b-general", gantt, author="b_asker11", mentions_bot=True))) == [], \
        "server B never shows A's notes"
    assert notes_under(reply_to(fake, fake.send_dm(gantt, author="asker8"))) == [], "nor does a DM"

    shown = command(fake, "config show", None, "moderator", "general").payload["content"]
    assert "Answer notes: 2 notes" in shown
    listed = command(fake, "config answer-notes show", None, "moderator", "general").payload["content"]
    assert ours in listed and "Under every answer" in listed
    assert command(fake, "config answer-notes show", None, "b_mod", "b-general").payload["content"].startswith(
        "This server has no notes"), "B's moderators see B's notes: none"
    assert fake.send_autocomplete("config", {"topic": ""}, "topic", subcommand_group="answer-notes",
                                  subcommand="remove", user="asker7", channel_id="general").wait_choices() == [], \
        "which answers a server noted is for its moderators"
    noted = fake.send_autocomplete("config", {"topic": ""}, "topic", subcommand_group="answer-notes",
                                   subcommand="remove", user="moderator", channel_id="general").wait_choices()
    assert {c["value"] for c in noted} == {"*", "project-schedule-techniques"}

    command(fake, "config answer-notes remove", {"topic": "project-schedule-techniques"}, "moderator", "general")
    asked = reply_to(fake, fake.send_message("general", gantt, author="asker9", mentions_bot=True))
    assert notes_under(asked) == ["Questions for people: @everyone in #general"]
    command(fake, "config reset", {"setting": "answer-notes"}, "moderator", "general")
    assert notes_under(reply_to(fake, fake.send_message("general", gantt, author="asker9", mentions_bot=True))) == []
    assert db_rows(bot.database, "SELECT answer_notes FROM guild_settings WHERE answer_notes IS NOT NULL", want=0) == []


def test_each_server_has_its_own_cooldown(fake: FakeDiscord, bot: Running) -> None:
    since = fake.cursor()
    command(fake, "config cooldown", {"rate": 1, "seconds": 600}, "b_mod", "b-general")
    wait_mod_log(fake, "b-log", "Cooldown set to 1 questions per 600 s", since=since)
    first = fake.send_message("b-general", "What is scrum?", author="b_asker5", mentions_bot=True)
    assert embed(reply_to(fake, first))["title"]
    second = fake.send_message("b-general", "What is kanban?", author="b_asker5", mentions_bot=True)
    assert "faster than I can keep up" in reply_to(fake, second).payload["content"]
    for question in ("What is scrum?", "What is kanban?"):  # server A keeps the default of 5
        assert embed(reply_to(fake, fake.send_message("general", question, author="asker2", mentions_bot=True)))["title"]


# -- restart, retention, leaving -------------------------------------------------------------------------


def test_a_vote_on_an_answer_given_before_a_restart_still_names_its_question(fake: FakeDiscord, bot: Running) -> None:
    """Members vote as they read, hours later, and pmbot restarts on every deploy: the question of an answer given
    before, as a reply, in a thread started on the question or by Apps → Ask pmbot, is read again from its message,
    and an /ask answer's from the question it quotes."""
    mentioned = "Who writes the user stories, the product manager or the project manager?"
    asked = fake.send_message("general", mentioned, author="asker10", mentions_bot=True)
    answers = [(mentioned, asked, reply_to(fake, asked))]
    command(fake, "config help-channels threads", {"on": True}, "moderator", "general")
    since = fake.cursor()
    asked = fake.send_message("pm-questions", "What is a product roadmap for?", author="asker11")
    fake.wait_for(lambda r: r.kind == "thread.create" and r.ok, since=since)
    answers.append((asked["content"], asked, fake.wait_for_message(int(asked["id"]), since=since)))
    command(fake, "config reset", {"setting": "help-channel-threads"}, "moderator", "general")
    asked = fake.send_message("general", "What does a scrum master do all day?", author="asker11")
    command_answer = fake.send_message_command("Ask pmbot", asked, user="asker10").wait_response()
    assert command_answer.payload["content"] == (
        f"-# Answering https://discord.com/channels/{fake.guild_id}/{fake.channel_id('general')}/{asked['id']}"), \
        "the channel sees which message Apps → Ask pmbot answers"
    answers.append((asked["content"], asked, fake.interaction_responses(command_answer.interaction_id)[0]))
    slashed = "Who *owns* the product backlog, the product owner?"
    slash = fake.send_slash_command("ask", {"question": slashed}, user="asker10", channel_id="general").wait_response()
    assert slash.payload["content"] == r"> Who \*owns\* the product backlog, the product owner?", \
        "the channel sees what /ask was asked, as typed"
    answers.append((slashed, None, fake.interaction_responses(slash.interaction_id)[0]))
    bot.restart()

    for question, asked, answer in answers:
        gap = ("SELECT kind, best_intent, original_text FROM unanswered_questions WHERE "
               + ("message_id = ?" if asked else "message_id IS NULL AND original_text = ?"))
        which = (int(asked["id"]),) if asked else (question,)
        [intent_id] = [c.removeprefix("pmbot:vote:down:") for c in custom_ids(answer) if c.startswith("pmbot:vote:down:")]
        assert fake.click_button(answer, f"pmbot:vote:down:{intent_id}", user="asker9").wait_response().ok
        assert db_rows(bot.database, gap, which) == [("downvoted", intent_id, question)]
        assert fake.click_button(answer, f"pmbot:vote:up:{intent_id}", user="asker9").wait_response().ok
        assert db_rows(bot.database, gap, which, want=0) == [], "the 👎 taken back takes its gap"


def test_settings_survive_a_restart_and_old_questions_and_votes_expire(fake: FakeDiscord, bot: Running) -> None:
    bot.process.terminate()
    with closing(sqlite3.connect(bot.database)) as conn:  # the bot is down: data from long ago
        conn.execute("INSERT INTO unanswered_questions (asked_at, guild_id, channel_id, text, kind, score)"
                     " VALUES (?, ?, 1, 'an ancient question', 'fallback', 0)", (OLD, GUILD_B))
        conn.execute("INSERT INTO feedback_votes (message_id, user_id, intent_id, vote, voted_at, guild_id)"
                     " VALUES (1, 1, 'ancient-intent', -1, ?, ?)", (OLD, GUILD_B))
        conn.execute("INSERT INTO reply_counts (guild_id, day, kind, intent_id, count)"
                     " VALUES (?, '2000-01-01', 'answer', 'ancient-intent', 3)", (GUILD_B,))
        conn.execute("UPDATE digests SET sent_at = ? WHERE guild_id = ?", (OLD, GUILD_B))  # B's digest is due
        conn.commit()
    before_restart = fake.cursor()
    bot.restart()
    wait_for_log(bot.process, "deleted 1 question(s), 1 vote(s), 1 daily reply count(s) and 0 dismissal(s)", after=0,
                 timeout=START_TIMEOUT)
    assert db_rows(bot.database, "SELECT 1 FROM unanswered_questions WHERE text = 'an ancient question'", want=0) == []
    assert db_rows(bot.database, "SELECT 1 FROM feedback_votes WHERE intent_id = 'ancient-intent'", want=0) == []
    assert db_rows(bot.database, "SELECT 1 FROM unanswered_questions WHERE text = ?", (GAP_B,)), "recent ones stay"

    show = command(fake, "config show", None, "b_mod", "b-general").payload["content"]
    assert fake.channel("b-help").mention in show and fake.channel("b-log").mention in show
    assert "1 questions per 600 s" in show
    digest = fake.wait_for_message("b-log", since=before_restart, predicate=lambda r: "the last 7 days" in text_of(r))
    assert GAP_B in text_of(digest), "the hourly check sends a digest that fell due while pmbot was down"
    asked = fake.send_message("b-help", "What is a product manager?", author="b_asker6")
    assert embed(reply_to(fake, asked))["title"], "the help channel still works after the restart"


def test_removing_the_bot_deletes_that_servers_data(fake: FakeDiscord, bot: Running) -> None:
    def count(table: str, guild_id: int) -> int:
        return db_rows(bot.database, f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", (guild_id,))[0][0]

    assert count("unanswered_questions", GUILD_B) and count("feedback_votes", GUILD_B) and count("guild_settings", GUILD_B)
    assert count("reply_counts", GUILD_B) and count("digests", GUILD_B)
    kept = (count("unanswered_questions", fake.guild_id), count("feedback_votes", fake.guild_id))
    mark = len(bot.log())
    fake.remove_bot_from_guild(GUILD_B)
    wait_for_log(bot.process, f"removed from server {GUILD_B}", after=mark)
    assert (count("unanswered_questions", GUILD_B), count("feedback_votes", GUILD_B), count("guild_settings", GUILD_B),
            count("reply_counts", GUILD_B), count("digests", GUILD_B)) == (0, 0, 0, 0, 0)
    assert (count("unanswered_questions", fake.guild_id), count("feedback_votes", fake.guild_id)) == kept
