"""End to end: the moderator workflow through the real bot and a real SQLite file.

Find the gaps (/kb gaps, /kb feedback from 👍/👎 clicks), check a question
(/kb why), change the knowledge (/kb upload, refused or installed, and
/kb rollback) and fetch it (/kb download). Who may use /kb at all is
test_e2e_moderation's part. Expected answers come from the same core on a
copy of the same knowledge in this process.

The upload tests run in file order on one bot: each leaves the knowledge in
a state the next one reads from disk rather than assumes.
"""

from __future__ import annotations

import re
from pathlib import Path

from e2e_support import RACI_INTENT, ask_title, db_rows, embed, files_in, reply_to, run_kb
from fake_discord import FakeDiscord

from bot.gaps import cluster_questions
from bot.knowledge.files import HISTORY_DIR
from bot.matching.explain import explain
from bot.recording import unanswered
from bot.service import KnowledgeService

BOT_ENV = {"PMBOT_UPLOAD_MAX_BYTES": "100000"}  # well above any shipped file
BOT_COMMANDS = ("ask", "kb")
TITLE = re.compile(r"(- id: project-management-definition\n    category: \w+\n    title: ).*")


def upload(fake: FakeDiscord, name: str, data: bytes) -> dict:
    return embed(run_kb(fake, "upload", {"file": fake.attach_file(name, data)}))


def fields(result: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in result.get("fields", [])}


def shipped_title(service: KnowledgeService) -> str:
    """The title of the intent the uploads retitle, as shipped (``service`` reads the copy before any upload)."""
    return service.kb.intents["project-management-definition"].title


def retitled(knowledge: Path, title: str) -> bytes:
    """basics.yaml as it is on disk, with project-management-definition's title changed."""
    text, found = TITLE.subn(lambda m: m[1] + title, (knowledge / "basics.yaml").read_text(), count=1)
    assert found
    return text.encode()


def test_unanswered_questions_show_up_in_gaps(fake: FakeDiscord, bot, service: KnowledgeService, new_user) -> None:
    asked = ["what is the best pizza topping", "whats the best piza topping?", "What is the best pizza toppings!!"]
    for question in asked:
        assert embed(reply_to(fake, fake.send_message("general", question, author=new_user(), mentions_bot=True)))
    assert len(db_rows(bot.database, "SELECT id FROM unanswered_questions WHERE text LIKE '%pi%za%'", want=3)) == 3

    results = [service.ask(question).result for question in asked]
    [gap] = cluster_questions([result.normalised for result in results])  # typos and all: one gap
    as_written = asked[[result.normalised for result in results].index(gap.example)]  # shown as the user wrote it
    best = unanswered(results[0]).best_intent
    closest = f"`{best}`" if best else "none"  # pizza may be nearest to no intent at all
    result = embed(run_kb(fake, "gaps"))
    assert result["title"] == "Unanswered questions, last 30 days"
    assert f"**1.** ×3 “{as_written}”\n  closest: {closest}" in result["description"]

    only_one = embed(run_kb(fake, "gaps", {"days": 1, "limit": 1}))["description"]
    assert f"×3 “{as_written}”" in only_one and "**2.**" not in only_one


def test_a_changed_vote_counts_once_as_the_last_one(fake: FakeDiscord, bot, service: KnowledgeService, new_user) -> None:
    question = "What is a product owner?"
    intent_id = service.ask(question).result.intent_id
    assert intent_id
    user = new_user()
    reply = reply_to(fake, fake.send_message("general", question, author=user, mentions_bot=True))
    for vote in ("up", "down"):  # the same user changes their mind on the same answer
        assert fake.click_button(reply, f"pmbot:vote:{vote}:{intent_id}", user=user).wait_response().ok

    result = embed(run_kb(fake, "feedback"))
    assert result["title"] == "Feedback, last 30 days"
    assert f"`{intent_id}`: 100% 👎 (1 👎 · 0 👍)" in result["description"]


def test_why_shows_the_decision_thresholds_and_scores(fake: FakeDiscord, bot, service: KnowledgeService) -> None:
    question = "what does a PM do"
    report = explain(service.kb, service.matcher.match(question))
    assert report["decision"] == "suggest"
    result = embed(run_kb(fake, "why", {"question": question}))
    assert result["title"] == "How pmbot reads this question"
    assert "**Decision: suggest** · suggests " in result["description"]
    t = report["thresholds"]
    assert (f"Thresholds: answer when ≥ {t['answer']:g}% sure the intent is right; suggest from {t['suggest']:g}%"
            ) in result["description"]
    assert any("meaning 0." in field["value"] for field in result["fields"]), "the semantic similarity is shown"
    assert f"Classifier: {report['off_topic']:.0%} off-topic" in result["description"]
    top = [f"{n}. {c['intent']}: {c['score']:.1f}% sure" for n, c in enumerate(report["candidates"], 1)]
    assert [f["name"] for f in result["fields"]] == top and 1 <= len(top) <= 5
    assert f"matched: “{report['candidates'][0]['matched']}”" in result["fields"][0]["value"]


def test_a_valid_upload_changes_the_answers_at_once(fake: FakeDiscord, bot, knowledge: Path, service, new_user) -> None:
    assert ask_title(fake, "What is project management?", new_user()) == shipped_title(service)
    data = retitled(knowledge, "What is project management, in short?")

    result = upload(fake, "basics.yaml", data)
    assert result["title"] == "Uploaded basics.yaml"
    assert "previous version is kept" in result["description"]
    assert fields(result) == {"Changed (1)": "`project-management-definition`"}
    assert ask_title(fake, "What is project management?", new_user()) == "What is project management, in short?"
    assert (knowledge / "basics.yaml").read_bytes() == data
    assert len(list((knowledge / HISTORY_DIR).iterdir())) == 1


def test_a_broken_upload_is_refused_with_line_numbers_and_changes_nothing(
    fake: FakeDiscord, bot, knowledge: Path, new_user
) -> None:
    before = files_in(knowledge)
    serving = ask_title(fake, "What is project management?", new_user())
    lines = (knowledge / "basics.yaml").read_text().splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.strip() == "phrasings:") + 1
    lines[at - 1] = "    phrasings: [unclosed\n"

    result = upload(fake, "basics.yaml", "".join(lines).encode())
    assert result["title"] == "Upload refused"
    assert "nothing was changed" in result["description"]
    assert re.search(r"```\nbasics\.yaml:\d+: YAML syntax error", result["description"]), result["description"]
    assert files_in(knowledge) == before, "no file written, no backup taken"
    assert ask_title(fake, "What is project management?", new_user()) == serving


def test_uploads_are_refused_by_name_and_size_before_downloading(fake: FakeDiscord, bot, knowledge: Path) -> None:
    before = files_in(knowledge)
    start = fake.cursor()
    for name, data, why in [
        ("notes.txt", b"intents: []\n", "upload a `.yaml` file"),
        ("huge.yaml", b"# padding\n" * 12_000, "is 120,000 bytes; the limit is 100,000"),
    ]:
        response = run_kb(fake, "upload", {"file": fake.attach_file(name, data)})
        assert why in response.payload["content"]
    assert not [r for r in fake.sent[start:] if r.kind == "cdn.download"]
    assert files_in(knowledge) == before


def test_rollback_restores_the_previous_answers(fake: FakeDiscord, bot, knowledge: Path, service, new_user) -> None:
    original = (knowledge / "basics.yaml").read_bytes()
    serving = ask_title(fake, "What is project management?", new_user())
    upload(fake, "basics.yaml", retitled(knowledge, "What is project management, version two?"))
    assert ask_title(fake, "What is project management?", new_user()) == "What is project management, version two?"

    result = embed(run_kb(fake, "rollback"))
    assert result["title"] == "Rolled back"
    assert "Restored `basics.yaml`" in result["description"]
    assert fields(result) == {"Changed (1)": "`project-management-definition`"}
    assert ask_title(fake, "What is project management?", new_user()) == serving
    assert (knowledge / "basics.yaml").read_bytes() == original

    # Undo every upload of this module, back to the shipped file; then there is nothing left to undo.
    while (result := embed(run_kb(fake, "rollback")))["title"] == "Rolled back":
        pass
    assert result["title"] == "Nothing to roll back"
    assert ask_title(fake, "What is project management?", new_user()) == shipped_title(service)


def test_an_upload_preview_names_the_gaps_it_would_answer_and_changes_nothing(
    fake: FakeDiscord, bot, knowledge: Path, new_user
) -> None:
    question = "How does a RACI chart work for a team?"
    assert ask_title(fake, question, new_user()) != "What is a RACI matrix?"  # a gap now
    db_rows(bot.database, "SELECT id FROM unanswered_questions WHERE text LIKE '%raci%'")
    before = files_in(knowledge)

    preview = embed(run_kb(fake, "upload", {"file": fake.attach_file("raci.yaml", RACI_INTENT.encode()), "preview": True}))
    assert preview["title"] == "Preview of raci.yaml"
    assert "**Nothing was changed.** Uploading `raci.yaml` would add it as a new file" in preview["description"]
    assert re.search(r"Of the \d+ gaps most asked here in the last 30 days, it would answer \*\*1\*\*\.\n"
                     rf"• “{re.escape(question)}” → `raci-basics`", preview["description"]), preview["description"]
    assert "It would serve" in preview["description"] and fields(preview) == {"Added (1)": "`raci-basics`"}
    assert files_in(knowledge) == before, "no file written, no backup taken"
    assert ask_title(fake, question, new_user()) != "What is a RACI matrix?", "nor served"

    broken = embed(run_kb(fake, "upload", {"file": fake.attach_file("raci.yaml", b"intents: [unclosed\n"), "preview": True}))
    assert broken["title"] == "Preview: the upload would be refused"
    assert "raci.yaml:2: YAML syntax error" in broken["description"] and "preview it again" in broken["description"]


def test_a_new_file_can_be_uploaded_and_rolled_back(fake: FakeDiscord, bot, knowledge: Path, new_user) -> None:
    assert ask_title(fake, "what is a raci matrix", new_user()) != "What is a RACI matrix?"
    result = upload(fake, "raci.yaml", RACI_INTENT.encode())
    assert fields(result) == {"Added (1)": "`raci-basics`"}
    assert "new file" in result["description"]
    assert ask_title(fake, "what is a raci matrix", new_user()) == "What is a RACI matrix?"

    result = embed(run_kb(fake, "rollback"))
    assert result["title"] == "Rolled back" and fields(result) == {"Removed (1)": "`raci-basics`"}
    assert not (knowledge / "raci.yaml").exists()
    assert ask_title(fake, "what is a raci matrix", new_user()) != "What is a RACI matrix?"


def test_download_lists_the_files_and_sends_one(fake: FakeDiscord, bot, knowledge: Path) -> None:
    listing = embed(run_kb(fake, "download"))
    assert listing["title"] == "Knowledge files"
    for path in knowledge.glob("*.yaml"):
        assert f"`{path.name}` · {path.stat().st_size:,} bytes" in listing["description"]

    sent = run_kb(fake, "download", {"file": "basics.yaml"})
    assert [(f.filename, f.data) for f in sent.files] == [("basics.yaml", (knowledge / "basics.yaml").read_bytes())]

    outside = embed(run_kb(fake, "download", {"file": "../bot/data/pmbot.sqlite3"}))
    assert outside["description"].startswith("There is no knowledge file `../bot/data/pmbot.sqlite3`.")


def test_download_autocompletes_file_names_for_moderators_only(fake: FakeDiscord, bot) -> None:
    choices = fake.send_autocomplete("kb download", {"file": "bas"}, "file", user=fake.moderator).wait_choices()
    assert [c["value"] for c in choices] == ["basics.yaml"]
    assert fake.send_autocomplete("kb download", {"file": "bas"}, "file", user=fake.normal_user).wait_choices() == []
