"""The command line: `python -m bot` / `pmbot`.

The contract (ask / validate / eval and their --json shapes) is relied on by
benchmarks and checks; see design.md. Every command reads the same knowledge
and runs the same matcher as the Discord bot.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence, TypeVar

from bot.config import BUNDLED_KNOWLEDGE, ConfigError, Settings, load_settings, redact_url
from bot.console import ConsoleChat, render
from bot.knowledge import KnowledgeError, load_knowledge
from bot.knowledge.loader import YAML_SUFFIXES
from bot.knowledge.release import bring_release_knowledge
from bot.matching.cache import IndexCache
from bot.service import Answer, KnowledgeService

# The stores (asyncio, database drivers), evaluation, explanations and teaching (ruamel.yaml) are imported by
# the commands that use them: `ask` starts faster (issue 12).
if TYPE_CHECKING:
    import asyncio

    from bot.store import Store

T = TypeVar("T")
log = logging.getLogger("pmbot.cli")


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _service(settings: Settings, args: argparse.Namespace) -> KnowledgeService:
    return KnowledgeService(args.knowledge or settings.knowledge_path, settings.index_cache(), settings.embedding_model)


AFTER_HELP = ("read the question as a follow-up to this intent's answer, as a reply to it is read: "
              '"what about project managers?" --after product-manager-salary')
NO_TOKEN_NO_TERMINAL = (
    "error: DISCORD_TOKEN is not set, and there is no terminal for the console chat, so there is nothing to run. "
    "Set DISCORD_TOKEN to run on Discord (Docker: `docker run -e DISCORD_TOKEN=...`, or an env file), "
    "or run `pmbot run --console` (`python -m bot run --console`) to chat over stdin anyway."
)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Discord when a token is configured, otherwise the offline console chat on a terminal.

    Without a token and without a terminal (a container, a service manager), the console chat
    would read end-of-input at once and exit 0, which looks like success; that is refused instead.
    """
    bring_release_knowledge(Path(args.knowledge or settings.knowledge_path), BUNDLED_KNOWLEDGE, settings.knowledge_backups)
    if settings.discord_token and not args.console:
        from bot.discord.app import run_bot  # imported here so the offline paths never need Discord

        return run_bot(settings, knowledge=args.knowledge)
    if not args.console and not sys.stdin.isatty():
        print(NO_TOKEN_NO_TERMINAL, file=sys.stderr)
        return 1
    import asyncio

    from bot.recording import unanswered

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


def _open_store(runner: asyncio.Runner, settings: Settings) -> Store | None:
    """The console records unanswered questions too, so `gaps` works offline; it still chats without them."""
    from bot.databases import describe, store_from_settings

    try:
        store = store_from_settings(settings)
        runner.run(store.open())
        return store
    except Exception as exc:  # a read-only disk must not stop the chat
        log.warning("not recording unanswered questions: cannot open %s (%s)", describe(settings), exc)
        return None


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    import asyncio

    from bot.databases import store_from_settings

    async def run() -> T:
        async with store_from_settings(settings) as store:
            return await work(store)

    if not settings.database_url and not settings.database_path.exists():
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


def _asked(settings: Settings, args: argparse.Namespace) -> tuple[KnowledgeService, Answer] | None:
    """`ask` and `why`'s question answered, as a follow-up to the answer for --after's intent if given; None (and
    the error said) when there is no such intent."""
    from bot.knowledge.teach import UnknownIntent, close_intent_ids

    service = _service(settings, args)
    if args.after is not None and args.after not in service.kb.intents:
        print(f"error: --after: {UnknownIntent(args.after, close_intent_ids(service.kb, args.after))}", file=sys.stderr)
        return None
    return service, service.ask(args.question, args.after)


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    if (asked := _asked(settings, args)) is None:
        return 2
    answer = asked[1]
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
    # One file is checked as part of its folder: its follow-ups may point at intents in the other
    # files, and its ids and phrasings must not clash with theirs.
    configured = Path(args.knowledge or settings.knowledge_path)
    alone = not args.path or not path.is_file() or path.suffix not in YAML_SUFFIXES or path.resolve() == configured.resolve()
    folder = path if alone else path.parent
    try:
        kb = load_knowledge(folder)
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
        context = f" with the rest of {folder}" if folder != path else ""
        print(f"{path}: valid{context} — {len(kb.intents)} intents, {len(kb.roles)} roles, {len(kb.categories)} categories.")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.evaluation import check_bars, evaluate, load_questions

    service = _service(settings, args)
    try:
        report = evaluate(load_questions(args.file), service.matcher)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bars = check_bars(report, min_top1=args.min_top1, max_wrong=args.max_wrong, max_false_answers=args.max_false_answers)
    missed = 1 if any(not bar.met for bar in bars) else 0
    if args.json:
        _print_json({**report.as_dict(), **({"bars": [bar.as_dict() for bar in bars]} if bars else {})})
        return missed
    print(report.summary())
    for miss in report.misses[: args.misses]:
        print(f"  [{miss['kind']}] expected {miss['expect']}, got {miss['got']}: {miss['q']}")
    if len(report.misses) > args.misses:
        print(f"  … {len(report.misses) - args.misses} more (use --misses N or --json)")
    for bar in bars:
        print(bar)
    return missed


def cmd_why(settings: Settings, args: argparse.Namespace) -> int:
    from bot.matching.explain import explain, explain_text

    if (asked := _asked(settings, args)) is None:
        return 2
    service, answer = asked
    report = explain(service.kb, answer.result)
    if args.json:
        _print_json(report)
    else:
        print(explain_text(report))
    return 0


def cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    from bot import reports
    from bot.store import EVERYWHERE

    known = _service(settings, args).matcher  # questions taught since they were asked are no gaps any more
    found = _with_store(settings, lambda store: reports.gaps(store, args.days, args.limit, EVERYWHERE, known,
                                                             downvoted_only=args.downvoted))
    if args.json:
        _print_json([asdict(r) for r in found])
    elif args.csv:
        sys.stdout.buffer.write(reports.gaps_csv(found)[0])
    else:
        print(reports.gaps_text(found, args.days))
    return 0


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    from bot import reports
    from bot.store import EVERYWHERE

    rows = _with_store(settings, lambda store: reports.feedback(store, args.days, EVERYWHERE))
    if args.json:
        _print_json([{**asdict(r), "down_share": r.down_share} for r in rows])
    else:
        print(reports.feedback_text(rows, args.days))
    return 0


def cmd_proposals(settings: Settings, args: argparse.Namespace) -> int:
    from bot import reports

    known = _service(settings, args).matcher  # proposals taught since are settled
    found = _with_store(settings, lambda store: reports.proposals(store, known))
    if args.json:
        _print_json([asdict(p) for p in found])
    else:
        print(reports.proposals_text(found))
    return 0


def cmd_dismiss(settings: Settings, args: argparse.Namespace) -> int:
    """Takes a gap off the list from the shell, as a moderator's picker does in a server: its recorded questions,
    near-duplicates included, are deleted in every server and DM."""
    from bot import reports
    from bot.store import EVERYWHERE

    async def dismiss(store: Store) -> tuple[reports.GapReport, int] | None:
        wanted = args.question.strip()
        gap = next((g for g in await reports.every_gap(store, EVERYWHERE)
                    if wanted in g.variants or wanted in g.stored_as), None)
        return None if gap is None else (gap, await store.dismiss_questions(set(gap.stored_as), EVERYWHERE))

    found = _with_store(settings, dismiss)
    if found is None:
        print(f"error: no recorded gap reads “{args.question}”; `pmbot gaps` lists them as people wrote them.",
              file=sys.stderr)
        return 1
    gap, deleted = found
    print(f"Dismissed “{gap.example}”: {deleted} recorded question(s), near-duplicates included. The same words asked "
          f"again where they were asked are not recorded for {settings.retention_days} days (PMBOT_RETENTION_DAYS).")
    return 0


def cmd_user_data(settings: Settings, args: argparse.Namespace) -> int:
    """For an access request that reaches the host, or a copy too large for `/privacy show` to attach."""
    from bot import reports

    records = _with_store(settings, lambda store: store.personal_records(args.user_id))
    sys.stdout.buffer.write(reports.personal_data_json(records) + b"\n")
    return 0


def cmd_forget_user(settings: Settings, args: argparse.Namespace) -> int:
    """For a deletion request that reaches the host rather than `/privacy forget`: the person's votes and the
    questions kept with their id, in every server and DM. A running bot's memory of the last day's answers is not
    reached from here; their questions in it carry no id unless PMBOT_STORE_USER_IDS is on."""
    deleted = _with_store(settings, lambda store: store.forget_person(args.user_id))
    print(f"Deleted what names user {args.user_id}: {deleted.votes} vote(s) and {deleted.questions} question(s), in "
          "every server and DM.")
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from bot import reports
    from bot.store import Scope

    every_server = Scope(None)  # replies are counted per server; DMs are not
    report = _with_store(settings, lambda store: reports.usage(store, args.days, every_server))
    if args.json:
        most = [{"intent_id": intent_id, "answers": n} for intent_id, n in report.most_answered]
        _print_json({**asdict(report), "most_answered": most, "replies": report.replies})
    else:
        print(reports.usage_text(report, args.days))
    return 0


def cmd_migrate_store(settings: Settings, args: argparse.Namespace) -> int:
    """Copies the SQLite database into an empty PostgreSQL one, to move a bot onto shards (README: Scaling out)."""
    import asyncio

    from bot.databases import TargetNotEmptyError, copy_sqlite_to_postgres

    source = Path(args.source or settings.database_path)
    target = args.to or settings.database_url
    if not target:
        print("error: say where to copy to: --to postgresql://… or PMBOT_DATABASE_URL.", file=sys.stderr)
        return 2
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(source, target))
    except (FileNotFoundError, TargetNotEmptyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: cannot copy to {redact_url(target)}: {exc}", file=sys.stderr)
        return 1
    print(f"Copied {copied.summary()} from {source} to {redact_url(target)}. "
          "Set PMBOT_DATABASE_URL to it on every bot process; the SQLite file is left as it was.")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """A consistent copy of the SQLite database, safe to take while the bot runs (README: Backups)."""
    import sqlite3

    from bot.databases import backup_sqlite

    if settings.database_url:
        print(f"error: this bot keeps its data in PostgreSQL ({redact_url(settings.database_url)}): back that up "
              "with PostgreSQL's own tools, e.g. pg_dump --format=custom --file=pmbot.dump \"$PMBOT_DATABASE_URL\".",
              file=sys.stderr)
        return 1
    try:
        copied = backup_sqlite(settings.database_path, args.dest)
    except (OSError, ValueError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Backed up {copied.summary()} from {settings.database_path} to {args.dest}. To restore, stop the bot, "
          "copy the backup over PMBOT_DATABASE and delete any -wal and -shm files beside it, then start it.")
    return 0


def _non_negative(what: str) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {raw!r}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"{what} must be a finite number ≥ 0, got {raw!r}")
        return value

    return parse


def _share(raw: str) -> float:
    """A bar for eval: a fraction (0.9) or a percentage (90%)."""
    value = _non_negative("a share")(raw.removesuffix("%"))
    value = value / 100 if raw.endswith("%") else value
    if value > 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1 (or 0% and 100%), got {raw!r}")
    return value


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {raw!r}")
    return int(raw)


def cmd_preview(settings: Settings, args: argparse.Namespace) -> int:
    """``/kb upload preview:True`` on the host: an edit checked, indexed and read against the gaps before it goes
    into the folder, where a running bot's watcher would serve it at once."""
    import asyncio

    from bot import reports
    from bot.keeper import KnowledgeKeeper
    from bot.store import EVERYWHERE

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    service = _service(settings, args)
    keeper = KnowledgeKeeper(service, keep=settings.knowledge_backups, max_bytes=settings.upload_max_bytes)
    preview = asyncio.run(keeper.preview(args.file.name, data))
    recorded = settings.database_url or settings.database_path.exists()
    found = _with_store(settings, lambda store: reports.gaps(store, args.days, reports.PREVIEW_GAPS, EVERYWHERE,
                                                             service.matcher)) if recorded else []
    fixed = reports.newly_answered(found, preview.matcher)
    if args.json:
        _print_json({"file": args.file.name, "replaces": preview.replaces, **asdict(preview.diff),
                     "gaps_read": len(found), "would_answer": [{"question": gap.example, "count": gap.count,
                                                                "intent": intent} for gap, intent in fixed]})
    else:
        print(reports.preview_text(args.file.name, preview.replaces, preview.diff, fixed, len(found), args.days))
    return 0


def cmd_warm_cache(settings: Settings, args: argparse.Namespace) -> int:
    """Builds into PMBOT_CACHE_DIR all that a start on the knowledge builds, where a container image is built: its
    starts then read it through PMBOT_READONLY_CACHE_DIR, as Symfony's cache:warmup is run into an image."""
    folder = settings.cache_dir
    if folder is None or not _writable(folder):
        print(f"error: cannot write the cache folder {folder}; set PMBOT_CACHE_DIR to a folder this user may write.",
              file=sys.stderr)
        return 1
    # Not through PMBOT_READONLY_CACHE_DIR: what a start would read there must be written here too.
    service = KnowledgeService(args.knowledge or settings.knowledge_path, IndexCache(folder), settings.embedding_model)
    if service.embedder is None:
        print("error: the sentence-embedding model did not load (the warning above says why); a start would match by "
              "words alone, so nothing was warmed for it.", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"The index cache at {folder} holds what a start on {service.path} ({len(service.kb.intents)} intents) "
          f"reads: {size / 1e6:.0f} MB. Starts read it with PMBOT_READONLY_CACHE_DIR={folder}.")
    return 0


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def cmd_teach(settings: Settings, args: argparse.Namespace) -> int:
    """Adds a phrasing on disk; a running bot's file watcher serves it once the edit settles."""
    from bot.knowledge.files import KnowledgeFiles
    from bot.knowledge.teach import TeachRefused, UnknownIntent, teach

    folder = Path(args.knowledge or settings.knowledge_path)
    try:
        lesson, backup = teach(KnowledgeFiles(folder, settings.knowledge_backups), args.question, args.intent,
                               settings.index_cache())
    except TeachRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, UnknownIntent):
            print(f"`pmbot why \"{args.question}\"` shows the intents closest to the question.", file=sys.stderr)
        return 1
    print(f"Taught “{lesson.question}” as a phrasing of {lesson.intent_id} in {folder / lesson.file}.")
    print(f"The previous version is kept in {backup.path}; `/kb rollback` restores it. "
          "A running bot picks the change up by itself (PMBOT_AUTO_RELOAD), or with `/kb reload`.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    knowledge_help = "knowledge folder or file (default: PMBOT_KNOWLEDGE, else the bundled knowledge)"
    parser = argparse.ArgumentParser(prog="pmbot", description="Answers product vs project management questions.")
    parser.add_argument("--knowledge", type=Path, metavar="PATH", help=knowledge_help)
    # Also accepted after the subcommand; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--knowledge", type=Path, metavar="PATH", default=argparse.SUPPRESS, help=knowledge_help)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=text)

    run = command("run", "run on Discord if DISCORD_TOKEN is set; without it, the console chat on a terminal")
    run.add_argument("--console", action="store_true",
                     help="chat in the console even when stdin is not a terminal (e.g. questions piped in)")

    sync = command("sync", "register the slash commands with Discord (globally, or with --guild for one server)")
    sync.add_argument("--guild", type=int, metavar="ID", help="sync to this server only (instant) instead of globally")
    sync.add_argument("--clear", action="store_true", help="remove the commands instead (e.g. a dev server's copies)")

    ask = command("ask", "answer one question, as a user would see it")
    ask.add_argument("question", help="the question, quoted")
    ask.add_argument("--json", action="store_true", help="one JSON object: kind, intent, score, suggestions, reply")
    ask.add_argument("--after", metavar="INTENT_ID", help=AFTER_HELP)

    validate = command("validate", "check knowledge; prints FILE:LINE: message per problem, exit 1 if any")
    validate.add_argument("path", nargs="?", type=Path,
                          help="a knowledge folder, or one file (checked together with the rest of its folder); "
                               "default: the configured knowledge")
    validate.add_argument("--json", action="store_true", help="one JSON object: valid, problems, counts")

    ev = command("eval", "measure matching on a YAML list of {q, expect}; with bars, exit 1 when one is missed")
    ev.add_argument("file", type=Path, help="YAML list of {q: question, expect: intent id or null for off-topic}")
    ev.add_argument("--json", action="store_true", help="the whole report as JSON (with `bars` when bars are set)")
    ev.add_argument("--misses", type=int, default=20, metavar="N", help="how many misses to list (default 20)")
    ev.add_argument("--min-top1", type=_share, metavar="SHARE",
                    help="fail unless at least this share of in-scope questions is answered right (0.9 or 90%%)")
    ev.add_argument("--max-wrong", type=_share, metavar="SHARE",
                    help="fail if more than this share of in-scope questions gets a wrong answer")
    ev.add_argument("--max-false-answers", type=_share, metavar="SHARE",
                    help="fail if more than this share of off-topic questions gets an answer")

    why = command("why", "explain how a question is matched: top intents, scores, the decision")
    why.add_argument("question", help="the question, quoted")
    why.add_argument("--json", action="store_true", help="the explanation as JSON")
    why.add_argument("--after", metavar="INTENT_ID", help=AFTER_HELP)

    days_help = "how many days back to look (default 30)"
    gaps = command("gaps", "most frequent unanswered questions, near-duplicates grouped, as people wrote them")
    gaps.add_argument("--days", type=_non_negative("--days"), default=30, help=days_help)
    gaps.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="how many gaps to show (default 20)")
    shown_as = gaps.add_mutually_exclusive_group()
    shown_as.add_argument("--json", action="store_true", help="the gaps as a JSON list")
    shown_as.add_argument("--csv", action="store_true", help="the gaps as a CSV file for a spreadsheet (UTF-8)")
    gaps.add_argument("--downvoted", action="store_true", help="only the questions whose answer a member voted 👎")

    migrate = command("migrate-store", "copy the SQLite database into an empty PostgreSQL database")
    migrate.add_argument("--from", dest="source", type=Path, metavar="FILE", help="SQLite file (default: PMBOT_DATABASE)")
    migrate.add_argument("--to", metavar="URL", help="postgresql://… (default: PMBOT_DATABASE_URL)")

    backup = command("backup", "copy the SQLite database (PMBOT_DATABASE) to a file, safely while the bot runs")
    backup.add_argument("dest", type=Path, metavar="FILE", help="where to write the copy (replaced if it exists)")

    feedback = command("feedback", "intents ranked by share of 👎 votes")
    feedback.add_argument("--days", type=_non_negative("--days"), default=30, help=days_help)
    feedback.add_argument("--json", action="store_true", help="the ranking as a JSON list")
    dismiss = command("dismiss", "take a gap off the list (its recorded questions, near-duplicates included)")
    dismiss.add_argument("question", help="the gap as `pmbot gaps` shows it, quoted")
    user_help = "the user's Discord id (Copy User ID)"
    user_data = command("user-data", "print as JSON what names a Discord user (their votes, their questions if kept)")
    user_data.add_argument("user_id", type=int, metavar="USER_ID", help=user_help)
    forget = command("forget-user", "delete what names a Discord user (their votes, their questions if kept)")
    forget.add_argument("user_id", type=int, metavar="USER_ID", help=user_help)
    proposals = command("proposals", "gaps that servers' moderators proposed to teach, most asked first")
    proposals.add_argument("--json", action="store_true", help="the proposals as a JSON list")
    stats = command("stats", "how many questions the bot answered, offered a guess or could not answer, in every server")
    stats.add_argument("--days", type=_non_negative("--days"), default=30, help=days_help)
    stats.add_argument("--json", action="store_true", help="the counts as JSON")
    preview = command("preview", "what FILE, put in the knowledge folder, would change and which gaps it would answer; "
                                 "writes nothing")
    preview.add_argument("file", type=Path, metavar="FILE",
                         help="a new or edited knowledge file, checked as the file of its name in the folder")
    preview.add_argument("--days", type=_non_negative("--days"), default=30, help="how many days of gaps to read (default 30)")
    preview.add_argument("--json", action="store_true", help="one JSON object: the diff and the gaps it would answer")
    teach_ = command("teach", "add QUESTION as a phrasing of INTENT_ID in that intent's file (validated, backed up)")
    teach_.add_argument("question", help="the question as people ask it, e.g. one from `pmbot gaps`")
    teach_.add_argument("intent", metavar="INTENT_ID", help="the intent that answers it, e.g. scope-creep")
    command("warm-cache", "build into PMBOT_CACHE_DIR all a start on the knowledge builds (the prepared model, the "
                          "phrasings' vectors, the classifiers), e.g. when an image is built; starts read it through "
                          "PMBOT_READONLY_CACHE_DIR")
    parser.set_defaults(command="run", console=False)  # plain `pmbot` is `pmbot run`
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
    "proposals": cmd_proposals,
    "dismiss": cmd_dismiss,
    "user-data": cmd_user_data,
    "forget-user": cmd_forget_user,
    "stats": cmd_stats,
    "migrate-store": cmd_migrate_store,
    "backup": cmd_backup,
    "preview": cmd_preview,
    "teach": cmd_teach,
    "warm-cache": cmd_warm_cache,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = COMMANDS[args.command]
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
