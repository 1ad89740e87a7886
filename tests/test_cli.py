"""The command line as operators and scripts use it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bot.matching.semantic import TOKENIZER
from tests.conftest import ROOT, clean_env, warm_cache_copy


def pmbot(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = clean_env(**(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=60,
    )


def test_ask_json_has_the_contract_fields() -> None:
    out = pmbot("ask", "what is scope creep?", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["kind"] == "answer"
    assert data["intent"] == "scope-creep"
    assert isinstance(data["score"], (int, float))
    assert data["suggestions"] == []
    assert data["reply"]["title"] and data["reply"]["body"]
    assert 2 <= len(data["reply"]["options"]) <= 3


def test_ask_json_suggests_for_a_bare_pm() -> None:
    data = json.loads(pmbot("ask", "how much does a PM earn", "--json").stdout)
    assert data["kind"] == "suggest"
    assert data["intent"] is None
    assert {"product-manager-salary", "project-manager-salary"} <= set(data["suggestions"])


def test_ask_and_why_read_a_follow_up_after_an_answer() -> None:
    alone = json.loads(pmbot("ask", "what about project managers?", "--json").stdout)
    after = json.loads(pmbot("ask", "what about project managers?", "--after", "product-manager-salary", "--json").stdout)
    assert alone["kind"] != "answer"
    assert (after["kind"], after["intent"]) == ("answer", "project-manager-salary")
    why = json.loads(pmbot("why", "what about project managers?", "--after", "product-manager-salary", "--json").stdout)
    assert why["intent"] == "project-manager-salary" and "follow-up to product-manager-salary" in why["reason"]
    unplaced = pmbot("why", "what about project managers?", "--after", "product-management-demand").stdout
    assert "After:      the answer to product-management-demand" in unplaced, "said even when it changes nothing"
    unknown = pmbot("ask", "what about project managers?", "--after", "salary")
    assert unknown.returncode == 2 and "no intent 'salary'" in unknown.stderr and "product-manager-salary" in unknown.stderr


def test_ask_plain_text_is_readable() -> None:
    out = pmbot("ask", "what's the weather in Paris")
    assert out.returncode == 0
    assert "don't know" in out.stdout
    assert "**" not in out.stdout  # markdown is rendered for the terminal


def test_validate_passes_on_the_shipped_knowledge() -> None:
    out = pmbot("validate")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout


def test_validate_reports_file_and_line_and_exits_1(knowledge_copy: Path) -> None:
    careers = knowledge_copy / "careers.yaml"
    lines = careers.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("follow_ups:"))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index, f"{indent}colour: orange")
    careers.write_text("\n".join(lines) + "\n")
    out = pmbot("validate", str(knowledge_copy))
    assert out.returncode == 1
    assert out.stdout.strip() == f"{careers}:{index + 1}: unknown field 'colour'; expected one of: answer, " \
        "category, follow_ups, id, keywords, phrasings, source, title"
    as_json = json.loads(pmbot("validate", str(knowledge_copy), "--json").stdout)
    assert as_json["valid"] is False
    assert as_json["problems"][0]["line"] == index + 1


def test_eval_json_reports_accuracy_latency_and_misses(tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(
        yaml.safe_dump(
            [
                {"q": "what does a scrum master do, is it a project manager?", "expect": "scrum-master-vs-project-manager"},
                {"q": "what is an MVP", "expect": "mvp"},
                {"q": "how do I bake sourdough bread", "expect": None},
                {"q": "what is the triple constraint", "expect": "mvp"},  # deliberately mislabelled
                {"q": "We moved house last month and the new kitchen is lovely, but the oven runs hot and every loaf "
                      "of bread I bake comes out burnt on the bottom and pale on top. Any tips for baking bread in "
                      "a fan oven?", "expect": None},
            ]
        )
    )
    data = json.loads(pmbot("eval", str(questions), "--json").stdout)
    for key in ("in_scope", "top1", "wrong_answer", "suggested", "oos", "oos_false_answer", "oos_help_channel_replies",
                "latency_ms", "misses"):
        assert key in data
    assert (data["in_scope"], data["oos"]) == (3, 2)
    assert data["oos_false_answer"] == 0.0
    assert data["wrong_answer"] > 0
    # The same numbers by message length: the short questions hold the mislabelled one, the long post is chat.
    short, middle, long = (data["by_length"][band] for band in ("1-12", "13-30", "31+"))
    assert (short["in_scope"], short["oos"], middle["in_scope"] + middle["oos"]) == (3, 1, 0)
    assert short["wrong_answer"] == data["wrong_answer"]
    assert (long["in_scope"], long["oos"], long["oos_false_answer"]) == (0, 1, 0.0)
    assert data["misses"][0]["expect"] == "mvp" and data["misses"][0]["got"] == "triple-constraint"
    assert data["latency_ms"]["p50"] > 0 and data["latency_ms"]["p99"] >= data["latency_ms"]["p50"]


def without_the_model(folder: Path) -> dict[str, str]:
    """Settings for a run that matches by words alone: an unreadable model, which the bot logs and does without.

    For tests about the command line itself, where embedding every question (~15 ms each) only costs time.
    """
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not a model")
    shutil.copy(TOKENIZER, folder / "tokenizer.json")
    return {"PMBOT_EMBEDDING_MODEL": str(folder)}


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"  # every one a miss, so the report is far bigger than a pipe's buffer
    questions.write_text(yaml.safe_dump([{"q": f"best pizza topping number {n}", "expect": "mvp"} for n in range(1500)]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "eval", str(questions), "--json", "--misses", "1500"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=clean_env(**without_the_model(tmp_path / "model")),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == b"{"  # like `| head -1`
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_eval_refuses_labels_the_knowledge_does_not_have(tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("- q: hello\n  expect: no-such-intent\n")
    out = pmbot("eval", str(questions))
    assert out.returncode == 2
    assert "no-such-intent" in out.stderr


def test_bad_configuration_is_named_and_stops_the_bot() -> None:
    out = pmbot("ask", "hi", env={"PMBOT_COOLDOWN_RATE": "lots", "PMBOT_LISTEN_CHANNELS": "general"})
    assert out.returncode == 2
    assert "PMBOT_COOLDOWN_RATE='lots'" in out.stderr
    assert "PMBOT_LISTEN_CHANNELS='general'" in out.stderr


def test_broken_knowledge_stops_ask_with_the_problems(knowledge_copy: Path) -> None:
    (knowledge_copy / "meta.yaml").write_text("intents: [oops\n")
    out = pmbot("--knowledge", str(knowledge_copy), "ask", "hi")
    assert out.returncode == 1
    assert "meta.yaml:" in out.stderr and "YAML syntax error" in out.stderr


def test_why_shows_scores_matches_and_thresholds() -> None:
    data = json.loads(pmbot("why", "whats the diff between a PdM and a PjM", "--json").stdout)
    assert data["decision"] == "answer" and data["intent"] == "key-differences"
    assert set(data["thresholds"]) == {"answer", "suggest"} and data["semantic"] is True
    assert data["candidates"][0]["similarity"] > 0.5 and data["candidates"][0]["words"] > 50
    assert data["off_topic"] < 0.5 and data["read"] == 1.0  # the classifier's view: on topic, every word known
    assert len(data["candidates"]) == 5
    assert data["candidates"][0]["matched"] and data["candidates"][0]["score"] >= data["candidates"][1]["score"]
    text = pmbot("why", "what does a PM do").stdout
    assert "Decision:   suggest" in text and "Top intents:" in text


def test_without_a_token_or_a_terminal_run_names_the_command_that_chats_anyway(tmp_path: Path) -> None:
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    refused = pmbot(stdin="what is scope creep\n", env=env)  # plain `pmbot` is `pmbot run`; a pipe is no terminal
    assert refused.returncode == 1 and "DISCORD_TOKEN is not set" in refused.stderr
    named = re.search(r"`python -m bot ([^`]+)`", refused.stderr)
    assert named, refused.stderr
    chat = pmbot(*named.group(1).split(), stdin="what is scope creep\n/quit\n", env=env)
    assert chat.returncode == 0 and "What is scope creep?" in chat.stdout


def test_console_records_unanswered_questions_for_gaps(tmp_path: Path) -> None:
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3")}
    pmbot("run", "--console", stdin="how do i bake sourdough\nhow do I bake sourdough?\nwhat is scope creep\n/quit\n", env=env)
    data = json.loads(pmbot("gaps", "--json", env=env).stdout)
    assert len(data) == 1  # the two sourdough questions are one gap; the answered one is not a gap
    assert data[0]["count"] == 2 and "sourdough" in data[0]["example"]
    assert "No feedback" in pmbot("feedback", env=env).stdout


def test_gaps_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    out = pmbot("gaps", env={"PMBOT_DATABASE": str(tmp_path / "none.sqlite3")})
    assert out.returncode != 0
    assert "No database" in out.stderr


def test_preview_says_what_a_file_would_change_and_which_gaps_it_answers_writing_nothing(tmp_path: Path) -> None:
    from tests.e2e.e2e_support import RACI_INTENT

    folder = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", folder)
    # One cache for every call: the first preview trains the index of the knowledge with the file, the rest read it.
    env = {"PMBOT_DATABASE": str(tmp_path / "pmbot.sqlite3"), "PMBOT_KNOWLEDGE": str(folder),
           "PMBOT_CACHE_DIR": str(warm_cache_copy())}
    new = tmp_path / "raci.yaml"
    new.write_text(RACI_INTENT)
    before = sorted(p.name for p in folder.iterdir())

    nothing_asked = pmbot("preview", str(new), env=env)
    assert nothing_asked.returncode == 0, nothing_asked.stderr
    assert "No gaps were recorded in the last 30 days" in nothing_asked.stdout
    pmbot("run", "--console", stdin="what is a raci matrix?\nwhat is a RACI matrix\nhow do i bake sourdough\n/quit\n", env=env)
    out = pmbot("preview", str(new), "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["replaces"], data["added"], data["removed"], data["gaps_read"]) == (False, ["raci-basics"], [], 2)
    assert [(a["count"], a["intent"]) for a in data["would_answer"]] == [(2, "raci-basics")], "not the sourdough"
    text = pmbot("preview", str(new), env=env).stdout
    assert "raci.yaml is valid and would be added as a new file; nothing was written." in text
    assert "Of the 2 gaps most asked in the last 30 days, it would answer 1:" in text and "→ raci-basics" in text
    assert sorted(p.name for p in folder.iterdir()) == before

    new.write_text("intents: [unclosed\n")
    broken = pmbot("preview", str(new), env=env)
    assert broken.returncode == 1 and "raci.yaml:2: YAML syntax error" in broken.stderr
