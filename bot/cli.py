"""The command line: `python -m bot` / `pmbot`.

The contract (ask / validate / eval and their --json shapes) is relied on by
benchmarks and checks; see design.md. Every command reads the same knowledge
and runs the same matcher as the Discord bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from bot.config import ConfigError, Settings, load_settings
from bot.console import ConsoleChat, render
from bot.evaluation import evaluate, load_questions
from bot import reports
from bot.knowledge import KnowledgeError, load_knowledge
from bot.matching.explain import explain, explain_text
from bot.recording import unanswered
from bot.service import Answer, KnowledgeService
from bot.store import SqliteStore

T = TypeVar("T")
log = logging.getLogger("pmbot.cli")


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _service(settings: Settings, args: argparse.Namespace) -> KnowledgeService:
    return KnowledgeService(args.knowledge or settings.knowledge_path, settings.embedding_model)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Discord when a token is configured, otherwise the offline console chat."""
    if settings.discord_token:
        from bot.discord.app import run_bot  # imported here so the offline paths never need Discord

        return run_bot(settings, knowledge=args.knowledge)
    service = _service(settings, args)
    with asyncio.Runner() as runner:
        store = _open_store(runner, settings)

        def record(answer: Answer) -> None:
            question = unanswered(answer.result)
            if store and question:
                runner.run(store.record_unanswered(question))

        try:
            return ConsoleChat(service, sys.stdout, on_answer=record).run()
        finally:
            if store:
                runner.run(store.close())


def _open_store(runner: asyncio.Runner, settings: Settings) -> SqliteStore | None:
    """The console records unanswered questions too, so `gaps` works offline; it still chats without them."""
    try:
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(settings.database_path, store_user_ids=settings.store_user_ids)
        runner.run(store.open())
        return store
    except Exception as exc:  # a read-only disk must not stop the chat
        log.warning("not recording unanswered questions: cannot open %s (%s)", settings.database_path, exc)
        return None


def _with_store(settings: Settings, work: Callable[[SqliteStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with SqliteStore(settings.database_path, store_user_ids=settings.store_user_ids) as store:
            return await work(store)

    if not settings.database_path.exists():
        raise SystemExit(f"No database at {settings.database_path} yet: nothing has been recorded. "
                         "Run the bot (or the console chat) first, or set PMBOT_DATABASE.")
    return asyncio.run(run())


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Registers the slash commands with Discord, globally or for one guild, then exits."""
    if not settings.discord_token:
        print("error: DISCORD_TOKEN is not set; syncing commands needs the bot's token.", file=sys.stderr)
        return 2
    from bot.discord.app import sync_commands  # imported here so the offline paths never need Discord

    return sync_commands(settings, knowledge=args.knowledge, guild_id=args.guild, clear=args.clear)


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


def cmd_why(settings: Settings, args: argparse.Namespace) -> int:
    service = _service(settings, args)
    report = explain(service.kb, service.matcher.match(args.question))
    if args.json:
        _print_json(report)
    else:
        print(explain_text(report))
    return 0


def cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    found = _with_store(settings, lambda store: reports.gaps(store, args.days, args.limit))
    if args.json:
        _print_json([asdict(r) for r in found])
    else:
        print(reports.gaps_text(found, args.days))
    return 0


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    rows = _with_store(settings, lambda store: reports.feedback(store, args.days))
    if args.json:
        _print_json([{**asdict(r), "down_share": r.down_share} for r in rows])
    else:
        print(reports.feedback_text(rows, args.days))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pmbot", description="Answers product vs project management questions.")
    parser.add_argument("--knowledge", type=Path, help="knowledge folder (default: PMBOT_KNOWLEDGE or the bundled one)")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("run", help="run on Discord if DISCORD_TOKEN is set, else the offline console chat")

    sync = sub.add_parser("sync", help="register the slash commands with Discord (globally, or with --guild for one server)")
    sync.add_argument("--guild", type=int, metavar="ID", help="sync to this server only (instant) instead of globally")
    sync.add_argument("--clear", action="store_true", help="remove the commands instead (e.g. a dev server's copies)")

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

    why = sub.add_parser("why", help="explain how a question is matched: top intents, scores, the decision")
    why.add_argument("question")
    why.add_argument("--json", action="store_true")

    gaps = sub.add_parser("gaps", help="most frequent unanswered questions, near-duplicates grouped")
    gaps.add_argument("--days", type=float, default=30)
    gaps.add_argument("--limit", type=int, default=20)
    gaps.add_argument("--json", action="store_true")

    feedback = sub.add_parser("feedback", help="intents ranked by share of 👎 votes")
    feedback.add_argument("--days", type=float, default=30)
    feedback.add_argument("--json", action="store_true")
    return parser


COMMANDS = {
    "run": cmd_run,
    "sync": cmd_sync,
    "ask": cmd_ask,
    "validate": cmd_validate,
    "eval": cmd_eval,
    "why": cmd_why,
    "gaps": cmd_gaps,
    "feedback": cmd_feedback,
}


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
    except BrokenPipeError:  # `pmbot eval … | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush stays quiet
        return 0
