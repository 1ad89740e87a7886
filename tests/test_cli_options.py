"""The command line's options as scripts and CI use them: bars that set the exit code, help, odd values."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser
from tests.test_cli import pmbot

QUESTIONS = [  # 2 of 3 in scope answered right (one deliberately mislabelled), the off-topic one not answered
    {"q": "what is an MVP", "expect": "mvp"},
    {"q": "what is scope creep?", "expect": "scope-creep"},
    {"q": "what is the triple constraint", "expect": "mvp"},
    {"q": "how do I bake sourdough bread", "expect": None},
]


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "q.yaml"
    path.write_text(yaml.safe_dump(QUESTIONS))
    return path


def test_eval_exits_0_when_every_bar_is_met(questions: Path) -> None:
    out = pmbot("eval", str(questions), "--min-top1", "0.6", "--max-wrong", "40%", "--max-false-answers", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "top1 0.667 (bar ≥ 0.600): met" in out.stdout
    assert "oos_false_answer 0.000 (bar ≤ 0.000): met" in out.stdout


@pytest.mark.parametrize(
    ("option", "value", "missed"),
    [("--min-top1", "0.7", "top1"), ("--max-wrong", "0.3", "wrong_answer")],
)
def test_eval_exits_1_when_a_bar_is_missed(questions: Path, option: str, value: str, missed: str) -> None:
    out = pmbot("eval", str(questions), option, value, "--json")
    assert out.returncode == 1
    bars = json.loads(out.stdout)["bars"]
    assert [(b["name"], b["met"]) for b in bars] == [(missed, False)]


def test_eval_without_bars_keeps_exit_0_and_the_json_shape(questions: Path) -> None:
    out = pmbot("eval", str(questions), "--json")
    assert out.returncode == 0 and "bars" not in json.loads(out.stdout)


@pytest.mark.parametrize("args", [["gaps", "--days", "-1"], ["feedback", "--days", "nan"], ["eval", "x.yaml", "--min-top1", "1.5"]])
def test_impossible_values_are_refused_before_anything_runs(args: list[str]) -> None:
    out = pmbot(*args)
    assert out.returncode == 2
    assert "error: argument" in out.stderr and "Traceback" not in out.stderr


def test_knowledge_works_after_the_subcommand_too(knowledge_copy: Path) -> None:
    (knowledge_copy / "meta.yaml").write_text("intents: [oops\n")
    before = pmbot("--knowledge", str(knowledge_copy), "validate")
    after = pmbot("validate", "--knowledge", str(knowledge_copy))
    assert before.returncode == after.returncode == 1
    assert before.stdout == after.stdout and "meta.yaml:2: YAML syntax error" in after.stdout


def test_validate_one_file_checks_it_with_the_rest_of_its_folder(knowledge_copy: Path) -> None:
    careers = knowledge_copy / "careers.yaml"  # its follow-ups point at intents in other files
    ok = pmbot("validate", str(careers))
    assert ok.returncode == 0, ok.stdout
    assert f"valid with the rest of {knowledge_copy}" in ok.stdout

    clash = knowledge_copy / "new.yaml"
    clash.write_text(careers.read_text())  # every id clashes with careers.yaml
    out = pmbot("validate", str(clash))
    assert out.returncode == 1
    assert f"{clash}:" in out.stdout and "duplicate intent id" in out.stdout


def _actions(parser: argparse.ArgumentParser, where: str = "pmbot") -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                found.append((f"{where} {choice.dest}", choice))
            for name, sub in action.choices.items():
                found.extend(_actions(sub, f"{where} {name}"))
        elif not isinstance(action, argparse._HelpAction):
            found.append((where, action))
    return found


def test_every_subcommand_and_option_has_help_text() -> None:
    missing = [f"{where}: {action.dest}" for where, action in _actions(build_parser()) if not action.help]
    assert missing == []
    assert len(_actions(build_parser())) > 30  # the walk really reached into the subcommands


def test_gaps_say_which_answer_a_follow_up_was_asked_after(tmp_path: Path) -> None:
    """Read alone, "what about project managers?" tells a moderator nothing; after demand's answer it asks for a
    topic the knowledge has only for product managers."""
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    asked = "Is product management a growing field?\nwhat about project managers?\n"
    out = pmbot("run", "--console", stdin=asked, env=env)
    assert out.returncode == 0, out.stderr
    gaps = [(g["example"], g["follows"]) for g in json.loads(pmbot("gaps", "--json", env=env).stdout)]
    assert gaps == [("what about project managers?", "product-management-demand")]
    assert "(after the answer to product-management-demand)" in pmbot("gaps", env=env).stdout


def test_gaps_show_what_people_wrote_not_the_normalised_text(tmp_path: Path) -> None:
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    pmbot("run", "--console", stdin="How do I bake SOURDOUGH?? 🍞\nhow do i bake sourdough\nHow do I bake SOURDOUGH?? 🍞\n", env=env)
    gaps = json.loads(pmbot("gaps", "--json", env=env).stdout)
    assert [(g["example"], g["count"]) for g in gaps] == [("How do I bake SOURDOUGH?? 🍞", 3)]
    assert gaps[0]["variants"] == ["How do I bake SOURDOUGH?? 🍞"]  # one normalised text, shown as most often written
    assert "“How do I bake SOURDOUGH?? 🍞”" in pmbot("gaps", env=env).stdout


def test_gaps_as_csv_open_in_a_spreadsheet_as_people_wrote_them(tmp_path: Path) -> None:
    import csv
    import io

    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    pmbot("run", "--console", stdin="=1+1 how do I bake SOURDOUGH?? 🍞\nbest pizza in napoli\nbest pizza in napoli\n", env=env)
    out = pmbot("gaps", "--csv", env=env)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout.removeprefix("\ufeff"))))
    assert [row[:2] for row in rows] == [["asked", "question"], ["2", "best pizza in napoli"],
                                        ["1", "'=1+1 how do I bake SOURDOUGH?? 🍞"]]


def test_dismiss_takes_a_gap_off_the_list_as_gaps_shows_it(tmp_path: Path) -> None:
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    pmbot("run", "--console", stdin="How do I bake SOURDOUGH?? 🍞\nhow do i bake sourdough\nbest pizza in napoli\n", env=env)
    out = pmbot("dismiss", "How do I bake SOURDOUGH?? 🍞", env=env)
    assert out.returncode == 0, out.stderr
    assert "Dismissed “How do I bake SOURDOUGH?? 🍞”: 2 recorded question(s)" in out.stdout
    assert [g["example"] for g in json.loads(pmbot("gaps", "--json", env=env).stdout)] == ["best pizza in napoli"]
    again = pmbot("dismiss", "How do I bake SOURDOUGH?? 🍞", env=env)
    assert again.returncode == 1 and "`pmbot gaps` lists them" in again.stderr


def test_user_data_and_forget_user_read_and_delete_what_names_that_user_only(tmp_path: Path) -> None:
    import asyncio
    import sqlite3
    from datetime import datetime, timezone

    from bot.store import SqliteStore, UnansweredQuestion

    database = tmp_path / "pmbot.sqlite3"

    async def record() -> None:
        async with SqliteStore(database, store_user_ids=True) as store:
            for message_id, user_id, guild_id in ((1, 7, 111), (2, 7, None), (1, 8, 111)):
                await store.record_vote(message_id, user_id, "mvp", 1, guild_id=guild_id)
            await store.record_unanswered(UnansweredQuestion(
                datetime.now(timezone.utc), 111, 5, "how do i bake sourdough", "fallback", None, 2.0, user_id=7))

    asyncio.run(record())
    copy = pmbot("user-data", "7", env={"PMBOT_DATABASE": str(database)})
    assert copy.returncode == 0, copy.stderr
    data = json.loads(copy.stdout)
    assert [(v["server"], v["vote"]) for v in data["votes"]] == [("111", "👍"), (None, "👍")], "user 8's is not theirs"
    assert [q["question"] for q in data["questions"]] == ["how do i bake sourdough"]
    out = pmbot("forget-user", "7", env={"PMBOT_DATABASE": str(database)})
    assert out.returncode == 0, out.stderr
    assert "Deleted what names user 7: 2 vote(s) and 1 question(s)" in out.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT user_id FROM feedback_votes").fetchall() == [(8,)]
        assert conn.execute("SELECT COUNT(*) FROM unanswered_questions").fetchall() == [(0,)]
