"""The offline console chat, driven through stdin of the real `python -m bot run` process."""

from __future__ import annotations

import signal
import subprocess
import sys

from bot.console import PROMPT
from bot.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE, ROOT, clean_env
from tests.test_cli import pmbot


def chat(*lines: str) -> str:
    out = pmbot("run", "--console", stdin="".join(f"{line}\n" for line in lines))
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_question_gets_an_answer_with_numbered_follow_ups() -> None:
    out = chat("what is scope creep?", "/quit")
    assert "What is scope creep?" in out
    assert "Related:" in out and "  1. " in out and "  2. " in out
    assert out.rstrip().endswith("Bye!")


def test_typing_a_number_asks_that_follow_up() -> None:
    first = chat("what is scope creep?", "/quit")
    follow_up = next(line.split(". ", 1)[1] for line in first.splitlines() if line.startswith("  1. "))
    out = chat("what is scope creep?", "1", "/quit")
    assert out.count(follow_up) >= 2  # listed as option 1, then shown as the title of its answer


def test_a_number_out_of_range_explains_itself() -> None:
    out = chat("what is scope creep?", "9", "/quit")
    assert "Pick a number from 1 to" in out


def test_a_bare_role_after_an_answer_asks_it_of_that_role() -> None:
    kb = load_knowledge(KNOWLEDGE)
    salaries = kb.intents["product-manager-salary"].title, kb.intents["project-manager-salary"].title
    heading = f"{salaries[1]}\n─"  # an answer's title over its rule, not an option listed under another answer
    out = chat("How much does a product manager earn?", "what about project managers?", "/quit")
    assert out.index(salaries[0]) < out.index(heading), "the follow-up asked the salary of the other role"
    assert heading not in chat("what about project managers?", "/quit"), "alone it asks nothing of salaries"


def test_commands_topics_role_compare_help() -> None:
    out = chat("/topics", "/topics careers", "/role scrum master", "/role PdM", "/role wizard", "/compare", "/help", "/nope")
    assert "Topics" in out and "Choosing, entering and growing in either role" in out
    assert "Scrum master" in out and "Product manager" in out
    assert "Which role? Try /role followed by one of:" in out
    assert "Product manager vs project manager" in out
    assert "/quit" in out  # the console's own help
    assert "Unknown command /nope" in out


def test_off_topic_gets_a_helpful_fallback() -> None:
    out = chat("can you recommend a pizza place", "/quit")
    assert "don't know" in out
    assert "Try:" in out


def test_end_of_input_exits_cleanly() -> None:
    out = chat("hello")  # no /quit: stdin simply ends (Ctrl-D)
    assert out.rstrip().endswith("Bye!")


def test_ctrl_c_exits_cleanly() -> None:
    env = clean_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    assert proc.stdout is not None
    assert "offline chat" in proc.stdout.readline()  # started...
    shown = ""
    while not shown.endswith(PROMPT):  # ...and waiting for input: input() shows its prompt first
        char = proc.stdout.read(1)
        assert char, f"the chat ended before asking for input: {shown!r}"
        shown += char
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.rstrip().endswith("Bye!")


def test_console_help_is_for_the_console_and_lists_examples_once() -> None:
    out = chat("/help", "/quit")
    assert "typing a question" in out and "/quit" in out
    assert "mention" not in out.lower() and "DM" not in out, "no Discord instructions in the terminal"
    assert out.count("What is product management?") == 1


def test_role_topics_and_compare_take_what_people_type() -> None:
    out = chat("/role pm", "/role Scrum Master (SM)", '/role "product owner"', "/topics related roles",
               "/compare time horizon", "/compare scrum master", "/quit")
    out = " ".join(out.split())  # as read, whatever the line wrapping
    assert "PM is ambiguous" in out and "/role program manager" in out
    roles = load_knowledge(KNOWLEDGE).roles
    assert " ".join(roles["scrum-master"].summary.split()) in out
    assert " ".join(roles["product-owner"].summary.split()) in out
    assert "Also written: SM" in out and "*Also written" not in out, "italics render, without asterisks"
    assert "What is a program manager?" in out and "No topic called" not in out
    assert "Time horizon:" in out and "Budget and schedule:" not in out
    assert "No aspect called “scrum master”" in out and "only one of these aspects" in out
