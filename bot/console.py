"""Offline chat in the terminal on the same core as the Discord bot.

It is what `make run` opens without a DISCORD_TOKEN: the quickest way for a
moderator to try an edit to the knowledge before anyone on Discord sees it.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import replace
from typing import Callable, TextIO

from bot.knowledge import KnowledgeBase
from bot.replies import ABOUT, Reply, answer_reply, comparison_reply, help_reply, role_lookup, topics_reply
from bot.service import Answer, KnowledgeService

PROMPT = "you> "
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`([^`]+)`")

CONSOLE_HELP = """**Ask me** by typing a question and pressing Enter.
**Commands**
  1, 2, 3…           ask a numbered question from the last reply
  /topics [NAME]     the topics, or one topic's questions (/topics careers)
  /role NAME         a role's summary (/role scrum master)
  /compare [ASPECT]  the two roles side by side (/compare time horizon)
  /help              this help
  /quit              leave (Ctrl-D and Ctrl-C work too)"""


def console_help_reply(kb: KnowledgeBase) -> Reply:
    """/help in the console: the console's own commands; the example questions are the numbered options."""
    body = f"{ABOUT}\n\n{CONSOLE_HELP}"
    return replace(help_reply(kb), title="How to use pmbot (offline chat)", body=body)


def plain(markdown: str) -> str:
    """Discord markdown made readable on a plain terminal."""
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2), markdown)
    return _CODE.sub(r"\1", _ITALIC.sub(lambda m: m.group(1) or m.group(2), text))


def render(reply: Reply, width: int | None = None) -> str:
    width = width or min(100, shutil.get_terminal_size((80, 24)).columns)
    lines = [plain(reply.title), "─" * min(width, max(len(reply.title), 20))]
    for paragraph in plain(reply.body).splitlines():
        lines.extend(textwrap.wrap(paragraph, width, subsequent_indent="  " if paragraph.startswith(("-", "•")) else "")
                     or [""])
    for field in reply.fields:
        lines.append("")
        lines.append(plain(field.name) + ":")
        for value_line in plain(field.value).splitlines():
            lines.extend(textwrap.wrap(value_line, width, initial_indent="  ", subsequent_indent="    "))
    if reply.options:
        lines.append("")
        lines.append("Did you mean:" if reply.kind == "suggest" else "Related:" if reply.kind == "answer" else "Try:")
        lines.extend(f"  {n}. {option.label}" for n, option in enumerate(reply.options, 1))
    return "\n".join(lines)


class ConsoleChat:
    """Reads questions line by line; the last reply's options can be picked by number."""

    def __init__(
        self,
        service: KnowledgeService,
        out: TextIO,
        on_answer: Callable[[Answer], None] | None = None,
    ) -> None:
        self.service = service
        self.out = out
        self.on_answer = on_answer
        self.last: Reply | None = None
        self.follows: str | None = None  # the last answer's intent: a bare "and project managers?" asks it again

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def show(self, reply: Reply) -> None:
        self.last = reply
        self.follows = reply.intent_id if reply.kind == "answer" else None
        self.say("\n" + render(reply) + "\n")

    def handle(self, line: str) -> bool:
        """Handles one line of input; False means the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.isdigit() and self.last and self.last.options:
            index = int(line) - 1
            if 0 <= index < len(self.last.options):
                intent = self.service.kb.intents.get(self.last.options[index].intent_id)
                if intent:
                    self.show(answer_reply(self.service.kb, intent))
                    return True
            self.say(f"Pick a number from 1 to {len(self.last.options)}, or type a question.\n")
            return True
        if line.startswith("/"):
            return self.command(line)
        answer = self.service.ask(line, follows=self.follows)
        if self.on_answer:
            self.on_answer(answer)
        self.show(answer.reply)
        return True

    def command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        kb = self.service.kb
        if name in ("quit", "exit", "q"):
            return False
        if name == "help":
            self.show(console_help_reply(kb))
        elif name == "topics":
            category = kb.find_category(arg) if arg else None
            names = ", ".join(c.id.replace("-", " ") for c in kb.categories.values())
            if arg and category is None:
                self.say(f"No topic called '{arg}'. Topics: {names}\n")
            else:
                self.show(topics_reply(kb, category.id if category else None))
                if category is None:
                    self.say(f"Type /topics NAME to list one topic's questions ({names}).\n")
        elif name == "role":
            reply = role_lookup(kb, arg) if arg else None
            if reply is None:
                names = ", ".join(r.name.lower() for r in kb.roles.values())
                unknown = f"I don't know a role called '{arg}'. " if arg else ""
                self.say(f"{unknown}Which role? Try /role followed by one of: {names}\n")
            else:
                self.show(reply)
        elif name == "compare":
            self.show(comparison_reply(kb, arg))
        else:
            self.say(f"Unknown command /{name}. Type /help for the list.\n")
        return True

    def run(self, read: Callable[[str], str] = input) -> int:
        count = len(self.service.kb.intents)
        self.say(f"pmbot offline chat: {count} topics loaded from {self.service.path}. "
                 "Ask about product vs project management; /help for commands, /quit to leave.\n")
        try:
            while True:
                try:
                    line = read(PROMPT)
                except EOFError:
                    self.say("")
                    break
                if not self.handle(line):
                    break
        except KeyboardInterrupt:
            self.say("")
        self.say("Bye!")
        return 0
