"""End to end: teaching pmbot from Discord, with /kb teach and with the pickers under /kb gaps.

The application's owner ("dana_dev") is a plain member; the server's Manage Server moderator is
no owner, and no server is home (PMBOT_HOME_GUILD unset), so only dana may teach. Tests run in
file order: the refusals come first, while the knowledge is still as shipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import EPHEMERAL, add_users, db_rows, embed, files_in, reply_to, run_kb
from fake_discord import FakeDiscord, RecordedRequest

from bot.discord.checks import owner_refusal

BOT_COMMANDS = ("ask", "kb")
TYPED = "how do the gaffer and the line producer split the shoot"  # falls back with the shipped knowledge
TYPED_INTENT = "how-they-work-together"
ASKED = "Who hires the gaffer, the line producer or the showrunner?"  # a gap, then taught from /kb gaps


def BOT_ENV(fake: FakeDiscord) -> dict[str, str]:  # noqa: N802 - the conftest's name for it
    return {"PMBOT_HOME_GUILD": "", "PMBOT_MOD_LOG_CHANNEL": str(fake.channel_id("bot-log"))}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True).start()
    add_users(server, 10)
    server.set_application_owner(server.add_user("dev", "dana_dev", in_first_guild=True))
    try:
        yield server
    finally:
        server.stop()


TEACH_TIMEOUT = 60  # a teach validates and indexes the whole knowledge: seconds on a busy machine


def kb(fake: FakeDiscord, sub: str, options: dict[str, Any] | None, user: str) -> RecordedRequest:
    return run_kb(fake, sub, options, user=user, bypass_permissions=True, timeout=TEACH_TIMEOUT)


def ask(fake: FakeDiscord, question: str, user: Any) -> RecordedRequest:
    return reply_to(fake, fake.send_message("general", question, author=user, mentions_bot=True))


def teach_pickers(request: RecordedRequest) -> list[dict[str, Any]]:
    return [c for row in request.components for c in row["components"] if c.get("custom_id", "").startswith("pmbot:teach:")]


def test_a_moderator_who_is_no_owner_may_not_teach(fake: FakeDiscord, bot, knowledge: Path) -> None:
    before = files_in(knowledge)
    handle = fake.send_slash_command("kb teach", {"question": TYPED, "intent": TYPED_INTENT}, user=fake.moderator)
    response = handle.wait_response()
    assert response.ok and response.payload["flags"] & EPHEMERAL
    assert response.payload["content"] == owner_refusal("kb teach")
    assert files_in(knowledge) == before
    choices = fake.send_autocomplete("kb teach", {"question": TYPED, "intent": ""}, "intent", user=fake.moderator)
    assert choices.wait_choices() == []


def test_the_owner_teaches_with_kb_teach_and_the_next_question_is_answered(
    fake: FakeDiscord, bot, knowledge: Path, service, new_user
) -> None:
    assert "fallback" == service.ask(TYPED).result.kind
    choices = fake.send_autocomplete("kb teach", {"question": TYPED, "intent": ""}, "intent", user="dev").wait_choices()
    assert TYPED_INTENT in [c["value"] for c in choices[:3]], "the likely intents come first"
    typed = fake.send_autocomplete("kb teach", {"question": TYPED, "intent": "together"}, "intent", user="dev").wait_choices()
    assert typed[0]["value"] == TYPED_INTENT

    since = fake.cursor()
    taught = embed(kb(fake, "teach", {"question": TYPED, "intent": TYPED_INTENT}, "dev"))

    assert taught["title"] == "Taught"
    assert TYPED_INTENT in taught["description"] and "/kb rollback" in taught["description"]
    assert f"      - {TYPED}\n" in (knowledge / "collaboration.yaml").read_text()
    logged = fake.wait_for_message("bot-log", since=since, predicate=lambda r: "Taught" in (r.payload or {}).get("content", ""))
    assert "dana_dev" in logged.payload["content"] and TYPED_INTENT in logged.payload["content"]
    assert embed(ask(fake, TYPED, new_user()))["title"] == service.kb.intents[TYPED_INTENT].title

    again = embed(kb(fake, "teach", {"question": TYPED.upper(), "intent": "scope-creep"}, "dev"))
    assert again["title"] == "Nothing taught" and "already a phrasing" in again["description"]
    unknown = embed(kb(fake, "teach", {"question": "what is a gantt chart", "intent": "gant-chart"}, "dev"))
    assert "no intent 'gant-chart'" in unknown["description"]


def test_the_owner_teaches_from_kb_gaps_and_the_gap_closes(fake: FakeDiscord, bot, knowledge: Path, service, new_user) -> None:
    assert service.ask(ASKED).result.kind == "fallback"
    ask(fake, ASKED, new_user())
    [(stored,)] = db_rows(bot.database, "SELECT original_text FROM unanswered_questions WHERE text LIKE '%showrunner%'")  # as written

    moderators_view = kb(fake, "gaps", None, "moderator")
    assert stored in embed(moderators_view)["description"]
    assert teach_pickers(moderators_view) == [], "only owners are offered pickers"

    gaps = kb(fake, "gaps", None, "dev")
    assert stored in embed(gaps)["description"]
    [picker] = [p for p in teach_pickers(gaps) if stored in p.get("placeholder", "")]
    assert len(picker["custom_id"]) <= 100 and len(picker["options"]) <= 25
    intent = picker["options"][0]["value"]

    before = files_in(knowledge)
    crafted = fake.select(gaps, picker["custom_id"], [intent], user=fake.moderator)  # a forged click is checked too
    assert crafted.wait_response().payload["content"] == owner_refusal("kb teach")
    assert files_in(knowledge) == before

    picked = fake.select(gaps, picker["custom_id"], [intent], user="dev")
    picked.wait_response()
    taught = embed(picked.wait_followup(timeout=TEACH_TIMEOUT))
    assert taught["title"] == "Taught" and intent in taught["description"]

    answer = embed(ask(fake, ASKED, new_user()))
    assert answer["title"] == service.kb.intents[intent].title
    assert stored not in embed(kb(fake, "gaps", None, "dev"))["description"], "a taught question leaves the gaps"
