"""End to end: who may use /kb (every subcommand), /kb reload and /kb status, and a reload that fails safely.

This module's bot runs with PMBOT_MESSAGE_CONTENT=false, so it also shows the bot
then asks for no privileged intent and still answers mentions, and any message through its Apps menu.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
from e2e_support import EPHEMERAL, RACI_INTENT, embed, files_in, reply_to, run_kb
from fake_discord import FakeDiscord

from bot.discord.checks import moderator_refusal

BOT_ENV = {"PMBOT_MESSAGE_CONTENT": "false"}  # no help channels wanted
BOT_COMMANDS = ("ask", "kb")
# Every /kb subcommand, with options a moderator might send (the fake checks them against the registration).
KB_SUBCOMMANDS: dict[str, Callable[[FakeDiscord], dict[str, Any] | None]] = {
    "download": lambda fake: {"file": "basics.yaml"},
    "feedback": lambda fake: {"days": 7},
    "gaps": lambda fake: {"days": 7, "limit": 3},
    "reload": lambda fake: None,
    "rollback": lambda fake: None,
    "proposals": lambda fake: None,
    "status": lambda fake: None,
    "stats": lambda fake: {"days": 7},
    "teach": lambda fake: {"question": "what is scrum", "intent": "agile-and-the-roles"},
    "upload": lambda fake: {"file": fake.attach_file("basics.yaml", b"intents: []\n")},
    "why": lambda fake: {"question": "what is scrum"},
}


def test_no_privileged_intent_when_switched_off(fake: FakeDiscord, bot, new_user) -> None:
    assert not fake.identifies[-1]["intents"] & (1 << 15)
    sent = fake.send_message("general", "What is project management?", author=new_user(), mentions_bot=True)
    assert embed(reply_to(fake, sent))["title"] == "What is project management?"


def test_ask_pmbot_answers_a_message_it_could_not_read(fake: FakeDiscord, bot, service, new_user) -> None:
    """Apps → Ask pmbot on a member's question: Discord sends the message with the command, intent or not."""
    question = "How much does a product manager earn?"
    intent = service.kb.intents[service.ask(question).result.intent_id]
    asked = fake.send_message("general", question, author=new_user())
    handle = fake.send_message_command("Ask pmbot", asked, user=new_user())
    response = handle.wait_response()
    assert response.ok and not int(response.payload.get("flags") or 0) & EPHEMERAL
    assert embed(response)["title"] == intent.title
    fake.delete_messages(asked)  # a moderator removes the message: the answer to it goes too
    assert handle.wait_for(kind="webhook.delete").ok


def test_kb_is_hidden_by_default_and_guild_only(fake: FakeDiscord, bot) -> None:
    kb = next(c for c in fake.guild_commands if c["name"] == "kb")
    assert int(kb["default_member_permissions"]) == 1 << 5  # Manage Server
    assert {o["name"] for o in kb["options"]} >= {"reload", "status"}
    with pytest.raises(PermissionError):  # Discord hides it from members without Manage Server...
        fake.send_slash_command("kb status", user=fake.normal_user)


def test_the_refusal_test_covers_every_kb_subcommand(fake: FakeDiscord, bot) -> None:
    kb = next(c for c in fake.guild_commands if c["name"] == "kb")
    assert {o["name"] for o in kb["options"]} == set(KB_SUBCOMMANDS)


@pytest.mark.parametrize("sub", sorted(KB_SUBCOMMANDS))
def test_kb_refuses_non_moderators_even_if_they_send_it(fake: FakeDiscord, bot, knowledge: Path, sub: str) -> None:
    # ...but the hint is not a check: a crafted or stale request must still be refused, whatever it asks for.
    before = files_in(knowledge)
    start = fake.cursor()
    handle = fake.send_slash_command(f"kb {sub}", KB_SUBCOMMANDS[sub](fake), user=fake.normal_user, bypass_permissions=True)
    response = handle.wait_response()
    assert response.ok and response.payload["flags"] & EPHEMERAL
    assert response.payload["content"] == moderator_refusal("kb")
    assert [r.kind for r in handle.responses()] == ["interaction.callback"], "the refusal is all that happens"
    assert not [r for r in fake.sent[start:] if r.kind == "cdn.download"], "an attachment is not even downloaded"
    assert files_in(knowledge) == before


def test_kb_status_for_a_manage_server_moderator(fake: FakeDiscord, bot, service) -> None:
    response = fake.send_slash_command("kb status", user=fake.moderator).wait_response()
    assert response.ok and response.payload["flags"] & EPHEMERAL
    status = embed(response)
    assert status["title"] == "Knowledge status"
    fields = {f["name"]: f["value"] for f in status["fields"]}
    assert f"{len(service.kb.intents)} intents" in fields["Counts"]
    assert fields[f"Source files ({len(service.kb.sources)})"].count(".yaml") == len(service.kb.sources)
    assert re.search(r"<t:\d+:F>", fields["Loaded"])
    # One process, alone with its SQLite file, running Discord's recommended shard count (the fake says 1).
    assert f"Knowledge version `{service.kb.version}`" in status["description"]
    assert fields["Processes (1)"] == f"shards 0 of 1 (this one) · knowledge `{service.kb.version}` ✅"


def test_kb_reload_reports_what_changed(fake: FakeDiscord, bot, knowledge: Path, new_user) -> None:
    basics = knowledge / "basics.yaml"
    text = basics.read_text()
    assert "title: What is project management?" in text
    basics.write_text(text.replace("title: What is project management?", "title: What is project management, really?"))
    (knowledge / "extra.yaml").write_text(RACI_INTENT)

    # A configured moderator role without Manage Server: Discord shows them /kb once a server admin
    # allows the role under Server Settings → Integrations (bypass_permissions stands for that).
    result = embed(run_kb(fake, "reload", user=fake.role_moderator, bypass_permissions=True))
    assert result["title"] == "Knowledge reloaded"
    fields = {f["name"]: f["value"] for f in result.get("fields", [])}
    assert fields == {"Added (1)": "`raci-basics`", "Changed (1)": "`project-management-definition`"}

    sent = fake.send_message("general", "What is project management?", author=new_user(), mentions_bot=True)
    assert embed(reply_to(fake, sent))["title"] == "What is project management, really?"
    sent = fake.send_message("general", "what is a raci matrix", author=new_user(), mentions_bot=True)
    assert embed(reply_to(fake, sent))["title"] == "What is a RACI matrix?"


def test_broken_knowledge_is_reported_with_lines_and_the_old_answers_keep_coming(
    fake: FakeDiscord, bot, knowledge: Path, new_user
) -> None:
    extra = knowledge / "extra.yaml"
    good = extra.read_text()
    extra.write_text(good.replace("    follow_ups: []\n", "    follow_ups: [\n"))  # unclosed list
    try:
        result = embed(run_kb(fake, "reload"))
        assert result["title"] == "Reload failed"
        assert re.search(r"```\nextra\.yaml:\d+: YAML syntax error", result["description"]), result["description"]
        assert "previous knowledge keeps serving" in result["description"]

        sent = fake.send_message("general", "what is a raci matrix?", author=new_user(), mentions_bot=True)
        assert embed(reply_to(fake, sent))["title"] == "What is a RACI matrix?", "the last good knowledge still answers"
    finally:
        extra.write_text(good)
    assert embed(run_kb(fake, "reload"))["description"].startswith("No intents changed.")


def test_many_problems_are_clipped_to_discords_limits(fake: FakeDiscord, bot, knowledge: Path) -> None:
    extra = knowledge / "extra.yaml"
    good = extra.read_text()
    broken = "intents:\n" + "".join(
        f"  - id: Bad Id {n}\n    category: nowhere-{n}\n    title: ''\n    phrasings: [x]\n" for n in range(200)
    )
    extra.write_text(broken)
    try:
        result = embed(run_kb(fake, "reload"))  # the fake rejects the payload if it is over a limit
        assert result["title"] == "Reload failed"
        assert len(result["description"]) <= 4096
        assert re.search(r"… and \d+ more", result["description"])
        assert result["description"].count("```") == 2, "the code block is closed"
    finally:
        extra.write_text(good)
        run_kb(fake, "reload")
