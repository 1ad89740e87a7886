"""The command line: `python -m bot` / `pmbot`.

The contract (ask / validate / eval and their --json shapes) is relied on by
benchmarks and checks; see design.md. Every command reads the same knowledge
and runs the same matcher as the Discord bot.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from bot.config import ConfigError, Settings, load_settings
from bot.console import ConsoleChat, render
from bot.evaluation import evaluate, load_questions
from bot.knowledge import KnowledgeError, load_knowledge
from bot.service import KnowledgeService


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _service(settings: Settings, args: argparse.Namespace) -> KnowledgeService:
    return KnowledgeService(args.knowledge or settings.knowledge_path)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Discord when a token is configured, otherwise the offline console chat."""
    if settings.discord_token:
        from bot.discord.app import run_bot  # imported here so the offline paths never need Discord

        return run_bot(settings, knowledge=args.knowledge)
    service = _service(settings, args)
    return ConsoleChat(service, sys.stdout).run()


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    answer = _service(settings, args).ask(args.question)
    if args.json:
        result = answer.result
        _print_json(
            {
                "kind": result.kind,
                "intent": result.intent_id,
                "score": result.score,
                "suggestions": list(result.suggestions),
                "reply": answer.reply.as_dict(),
            }
        )
    else:
        print(render(answer.reply))
    return 0


def cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.path or args.knowledge or settings.knowledge_path)
    try:
        kb = load_knowledge(path)
    except KnowledgeError as exc:
        if args.json:
            _print_json({"valid": False, "problems": [p.__dict__ for p in exc.problems]})
        else:
            for problem in exc.problems:
                print(problem)
            print(f"{len(exc.problems)} problem(s) found; the bot keeps serving its last good knowledge until they are fixed.",
                  file=sys.stderr)
        return 1
    if args.json:
        _print_json({"valid": True, "problems": [], "intents": len(kb.intents), "roles": len(kb.roles)})
    else:
        print(f"{path}: valid — {len(kb.intents)} intents, {len(kb.roles)} roles, {len(kb.categories)} categories.")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    service = _service(settings, args)
    try:
        report = evaluate(load_questions(args.file), service.matcher)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(report.as_dict())
        return 0
    print(report.summary())
    for miss in report.misses[: args.misses]:
        print(f"  [{miss['kind']}] expected {miss['expect']}, got {miss['got']}: {miss['q']}")
    if len(report.misses) > args.misses:
        print(f"  … {len(report.misses) - args.misses} more (use --misses N or --json)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pmbot", description="Answers product vs project management questions.")
    parser.add_argument("--knowledge", type=Path, help="knowledge folder (default: PMBOT_KNOWLEDGE or the bundled one)")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("run", help="run on Discord if DISCORD_TOKEN is set, else the offline console chat")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="one JSON object: kind, intent, score, suggestions, reply")

    validate = sub.add_parser("validate", help="check knowledge; prints FILE:LINE: message per problem, exit 1 if any")
    validate.add_argument("path", nargs="?", type=Path, help="knowledge folder or file (default: the configured one)")
    validate.add_argument("--json", action="store_true")

    ev = sub.add_parser("eval", help="measure matching on a YAML list of {q, expect}")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--misses", type=int, default=20, help="how many misses to list (default 20)")
    return parser


COMMANDS = {"run": cmd_run, "ask": cmd_ask, "validate": cmd_validate, "eval": cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = COMMANDS[args.command or "run"]
    try:
        return command(settings, args)
    except KnowledgeError as exc:
        print("The knowledge has problems; fix them and try again (`python -m bot validate` lists them):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
