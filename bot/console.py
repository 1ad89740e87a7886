"""Offline chat in the terminal on the same core as the Discord bot.

It is what `make run` opens without a DISCORD_TOKEN: the quickest way for a
moderator to try an edit to the knowledge before anyone on Discord sees it.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from typing import Callable, TextIO

from bot.replies import Reply, answer_reply, comparison_reply, help_reply, role_reply, topics_reply
from bot.service import Answer, KnowledgeService

PROMPT = "you> "
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_CODE = re.compile(r"`([^`]+)`")

CONSOLE_HELP = """Type a question and press Enter. Other commands:
  1, 2, 3…       ask the numbered follow-up or suggestion of the last reply
  /topics [NAME] list the topics, or the questions of one topic
  /role NAME     summary of a role (e.g. /role scrum master)
  /compare       product manager vs project manager, side by side
  /help          what pmbot can do
  /quit          leave (Ctrl-D and Ctrl-C work too)"""


def plain(markdown: str) -> str:
    """Discord markdown made readable on a plain terminal."""
    return _CODE.sub(r"\1", _BOLD.sub(lambda m: m.group(1) or m.group(2), markdown))


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

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def show(self, reply: Reply) -> None:
        self.last = reply
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
        answer = self.service.ask(line)
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
            self.show(help_reply(kb))
            self.say(CONSOLE_HELP + "\n")
        elif name == "topics":
            category = next((c.id for c in kb.categories.values() if arg and arg.lower() in (c.id, c.title.lower())), None)
            if arg and category is None:
                self.say(f"No topic called '{arg}'. Topics: {', '.join(kb.categories)}\n")
            else:
                self.show(topics_reply(kb, category))
                if category is None:
                    self.say(f"Type /topics NAME to list one topic's questions ({', '.join(kb.categories)}).\n")
        elif name == "role":
            role = kb.find_role(arg) if arg else None
            if role is None:
                names = ", ".join(r.name.lower() for r in kb.roles.values())
                self.say(f"Which role? Try /role followed by one of: {names}\n")
            else:
                self.show(role_reply(kb, role))
        elif name == "compare":
            self.show(comparison_reply(kb))
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
