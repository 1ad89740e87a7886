"""What /kb and the moderator log say: reports, diffs and FILE:LINE problems, each fitted to one embed.

Kept apart from the cog so the bot (which posts broken edits to the
moderator log) can use them without importing a cog module, which discord.py
executes afresh when it loads the extension. Text a user typed (questions,
file names) is shown as itself: markdown escaped, backticks defused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import discord

from bot import limits
from bot.fleet import ProcessInfo
from bot.knowledge import KnowledgeBase, KnowledgeDiff, KnowledgeError, Problem
from bot.keeper import Preview
from bot.knowledge.files import Backup
from bot.knowledge.teach import Lesson, TeachRefused
from bot.replies import Field, Reply
from bot.reports import GapReport, Proposal, UsageReport, share
from bot.store import FeedbackSummary

OK_COLOUR = 0x22C55E
ERROR_COLOUR = 0xEF4444
INFO_COLOUR = 0x64748B
WARN_COLOUR = 0xF59E0B
DECISION_COLOURS = {"answer": OK_COLOUR, "suggest": WARN_COLOUR, "fallback": INFO_COLOUR}
PREVIEW_LISTED = 10  # the gaps an upload's preview names as answered; it counts the rest
SHORTEST_EXAMPLE = 40  # a gap's question is cut to fit its line, but never shorter than this
DIGEST_EXAMPLE = 120  # a gap's question in the weekly digest, cut: the digest points to /kb gaps for the rest
LISTING_SLACK = 40  # room under a listing (or a problems block) for a blank line and "… and N more."
MOD_FOOTER = "Only you can see this. /kb status shows what is loaded."
TAUGHT = "Taught"
MOD_LOG_FOOTER = "pmbot reloads the knowledge files when they change on disk · /kb status shows what is loaded"


def _relative(problem: Problem, folder: Path | None) -> str:
    """``FILE:LINE: message`` with every file relative to the knowledge folder: shorter, and no server paths shown.

    Messages name other files too ("also under intent X (FOLDER/basics.yaml:30)"), so every occurrence goes.
    """
    text = str(problem)
    if folder is not None:
        text = text.replace(str(folder).rstrip("/" + os.sep) + os.sep, "")
    return text


def _fit_lines(lines: Sequence[str], room: int) -> tuple[list[str], int]:
    """The leading lines that fit in ``room`` characters once joined by newlines, and how many did not."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > room:
            break
        shown.append(line)
        used += len(line) + 1
    return shown, len(lines) - len(shown)


def problems_block(problems: Sequence[Problem], room: int, folder: Path | None = None) -> str:
    """FILE:LINE problems as a code block that fits in ``room`` characters, saying how many were left out."""
    lines = [limits.clip(_relative(p, folder).replace("```", "'''"), 300) for p in problems]
    fence_open, fence_close = "```\n", "\n```"
    shown, left = _fit_lines(lines, room - len(fence_open) - len(fence_close) - LISTING_SLACK)
    text = fence_open + "\n".join(shown) + fence_close
    if left:
        text += f"\n… and {left} more (run `python -m bot validate` for all)."
    return text


def _ids(ids: Sequence[str]) -> str:
    return limits.clip(", ".join(f"`{i}`" for i in ids), limits.EMBED_FIELD_VALUE)


def inline_code(name: str) -> str:
    """A name that came from a user (an attachment's file name) as inline code it cannot break out of."""
    return "`" + limits.clip(name.replace("`", "'"), 100) + "`"


def _quote(text: str, limit: int = 300) -> str:
    """User-typed text shown as itself, its markdown not interpreted, in at most ``limit`` + 2 characters."""
    return "“" + limits.clip(discord.utils.escape_markdown(text), limit) + "”"


def _change_reply(title: str, diff: KnowledgeDiff, kb: KnowledgeBase, note: str = "", *, serving: str = "Now serving") -> Reply:
    """What a change (reload, upload, rollback) did to the served knowledge: the diff and the new counts."""
    counts = f"{serving} **{len(kb.intents)}** intents and **{len(kb.roles)}** roles from {len(kb.sources)} files."
    fields = tuple(
        Field(f"{label} ({len(ids)})", _ids(ids))
        for label, ids in (("Added", diff.added), ("Removed", diff.removed), ("Changed", diff.changed))
        if ids
    )
    body = ("No intents changed." if diff.empty else diff_summary_line(diff)) + "\n" + counts
    if note:
        body = note + "\n" + body
    return Reply("info", title, body, OK_COLOUR, fields, footer=MOD_FOOTER).fitted()


def diff_summary_line(diff: KnowledgeDiff) -> str:
    parts = [f"{len(ids)} {label}" for label, ids in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)) if ids]
    return "Intents " + ", ".join(parts) + "."


def _problem_count(error: KnowledgeError) -> str:
    return f"**{len(error.problems)} problem(s)**"


def _problems_reply(title: str, note: str, error: KnowledgeError, folder: Path | None, footer: str = MOD_FOOTER) -> Reply:
    """The FILE:LINE problems under a note saying what did and did not happen, in one embed."""
    body = note + "\n" + problems_block(error.problems, limits.EMBED_DESCRIPTION - len(note) - 1, folder)
    return Reply("info", title, body, ERROR_COLOUR, footer=footer).fitted()


def reload_reply(diff: KnowledgeDiff, kb: KnowledgeBase) -> Reply:
    return _change_reply("Knowledge reloaded", diff, kb)


def reload_failed_reply(error: KnowledgeError, folder: Path | None = None) -> Reply:
    note = (
        f"{_problem_count(error)} in the knowledge files, so nothing was changed: "
        "**the previous knowledge keeps serving.** Fix these and run `/kb reload` again."
    )
    return _problems_reply("Reload failed", note, error, folder)


def uploaded_reply(name: str, replaced: bool, diff: KnowledgeDiff, kb: KnowledgeBase) -> Reply:
    kept = (
        "The previous version is kept: `/kb rollback` restores it." if replaced
        else "It is a new file: `/kb rollback` removes it again."
    )
    return _change_reply(f"Uploaded {name}", diff, kb, kept)


def upload_preview_reply(name: str, preview: Preview, fixed: Sequence[tuple[GapReport, str]], checked: int,
                         days: int) -> Reply:
    """What uploading the file would do, nothing having changed: its diff, and which of the gaps most asked here it
    would answer (and with what)."""
    action = "replace the file of that name" if preview.replaces else "add it as a new file"
    if not checked:
        gaps = f"No gaps were asked here in the last {days} days to try it on."
    else:
        gaps = f"Of the {checked} gaps most asked here in the last {days} days, it would answer **{len(fixed)}**."
    listed = "\n".join(f"• {_quote(gap.example, 150)} → `{intent}`" for gap, intent in fixed[:PREVIEW_LISTED])
    if len(fixed) > PREVIEW_LISTED:
        listed += f"\n… and {len(fixed) - PREVIEW_LISTED} more."
    note = (f"**Nothing was changed.** Uploading {inline_code(name)} would {action}; it is valid.\n{gaps}"
            + (f"\n{listed}" if listed else "") + "\nUpload it without `preview` to serve it.")
    return _change_reply(f"Preview of {name}", preview.diff, preview.matcher.kb, note, serving="It would serve")


def upload_refused_reply(error: KnowledgeError, folder: Path | None, *, preview: bool = False) -> Reply:
    """`preview`: the file was only previewed, and an upload of it would be refused."""
    if preview:
        note = (f"{_problem_count(error)}, so uploading it would be refused. **Nothing was changed.** "
                "Fix these and preview it again.")
        return _problems_reply("Preview: the upload would be refused", note, error, folder)
    note = (
        f"{_problem_count(error)}, so nothing was changed: the file was not saved and "
        "**the current knowledge keeps serving.** Fix these and upload it again."
    )
    return _problems_reply("Upload refused", note, error, folder)


def taught_reply(lesson: Lesson, diff: KnowledgeDiff, kb: KnowledgeBase) -> Reply:
    note = (
        f"{_quote(lesson.question)} is now a phrasing of `{lesson.intent_id}` in {inline_code(lesson.file)}, "
        "and pmbot answers it already. `/kb rollback` undoes this."
    )
    return _change_reply(TAUGHT, diff, kb, note)


def teach_refused_reply(error: TeachRefused | KnowledgeError, folder: Path | None) -> Reply:
    if isinstance(error, TeachRefused):
        return Reply("info", "Nothing taught", discord.utils.escape_markdown(str(error)), WARN_COLOUR, footer=MOD_FOOTER).fitted()
    note = (
        f"The knowledge would have {_problem_count(error)}, so nothing was changed: "
        "**the current knowledge keeps serving.**"
    )
    return _problems_reply("Teach refused", note, error, folder)


def rolled_back_reply(backup: Backup, diff: KnowledgeDiff, kb: KnowledgeBase) -> Reply:
    undone = (
        f"Restored {inline_code(backup.name)} as it was before the last upload or teach"
        if backup.existed
        else f"Removed {inline_code(backup.name)}, which the last upload had added"
    )
    note = f"{undone}; `/kb rollback` again goes further back."
    return _change_reply("Rolled back", diff, kb, note)


def rollback_refused_reply(error: KnowledgeError, folder: Path | None) -> Reply:
    note = f"Restoring the previous version would leave {_problem_count(error)}, so **the current knowledge keeps serving.**"
    return _problems_reply("Rollback refused", note, error, folder)


NOTHING_TO_ROLL_BACK = Reply(
    "info", "Nothing to roll back", "There is no previous version: no upload or teach is left to undo.", INFO_COLOUR,
    footer=MOD_FOOTER,
)


def edit_refused_reply(error: KnowledgeError, folder: Path | None) -> Reply:
    """For the moderator log channel: an edit on disk the bot would not serve."""
    note = (
        f"The knowledge files changed on disk, but they have {_problem_count(error)}, so "
        "**the previous knowledge keeps serving.** Fix these and save again."
    )
    return _problems_reply("Knowledge edit not loaded", note, error, folder, MOD_LOG_FOOTER)


def shards_text(shard_ids: Sequence[int], shard_count: int | None) -> str:
    if not shard_ids:
        return f"all of {shard_count}" if shard_count else "all"
    return f"{', '.join(map(str, shard_ids))} of {shard_count}"


def processes_text(processes: Sequence[ProcessInfo], me: str, version: str) -> str:
    """One line per live process: its shards and knowledge version, flagged when it differs from this one's.

    Processes go by their shards, never their host names: the reply is for any server's moderators.
    """
    lines = []
    for p in processes:
        mark = "✅" if p.knowledge_version == version else "⚠️ different knowledge"
        here = " (this one)" if p.name == me else ""
        lines.append(f"shards {shards_text(p.shard_ids, p.shard_count)}{here} · knowledge `{p.knowledge_version}` {mark}")
    return "\n".join(lines) or "(none recorded)"


def status_reply(
    kb: KnowledgeBase,
    path: str,
    processes: Sequence[ProcessInfo] = (),
    me: str = "",
    out_of_step: str | None = None,
) -> Reply:
    """What this process serves and, where several share one database, what each of them serves."""
    loaded = int(kb.loaded_at.timestamp())
    files = "\n".join(f"`{s.path.name}` {s.sha256[:12]}" for s in kb.sources) or "(none)"
    fields = (
        Field("Loaded", f"<t:{loaded}:F> (<t:{loaded}:R>)", inline=True),
        Field(
            "Counts",
            f"{len(kb.intents)} intents · {len(kb.roles)} roles · {len(kb.categories)} categories · "
            f"{len(kb.synonyms)} synonyms",
            inline=True,
        ),
        Field(f"Source files ({len(kb.sources)})", limits.clip(files, limits.EMBED_FIELD_VALUE)),
        Field(f"Processes ({len(processes)})", limits.clip(processes_text(processes, me, kb.version), limits.EMBED_FIELD_VALUE)),
    )
    body = f"Knowledge version `{kb.version}` from folder `{Path(path).name}/`"
    stale = any(p.knowledge_version != kb.version for p in processes)
    if out_of_step:
        body += f"\n\n⚠️ This process could not follow the others: {out_of_step}"
    elif stale:
        body += "\n\n⚠️ Not every process serves this version yet; they follow within seconds, or say why in their log."
    colour = WARN_COLOUR if out_of_step or stale else INFO_COLOUR
    return Reply("info", "Knowledge status", body, colour, fields, footer=MOD_FOOTER).fitted()


def _listing_reply(title: str, intro: str, lines: Sequence[str], colour: int = INFO_COLOUR) -> Reply:
    """An intro and as many list lines as fit one embed, saying how many did not."""
    shown, left = _fit_lines(lines, limits.EMBED_DESCRIPTION - len(intro) - LISTING_SLACK)
    body = intro + "\n\n" + "\n".join(shown) + (f"\n… and {left} more." if left else "")
    return Reply("info", title, body, colour, footer=MOD_FOOTER).fitted()


def gaps_reply(gaps: Sequence[GapReport], days: int, *, can_teach: bool = False, downvoted: bool = False) -> Reply:
    """`downvoted`: the list holds only the questions whose answer was voted 👎."""
    title = f"{'Answers voted 👎' if downvoted else 'Unanswered questions'}, last {days} days"
    if not gaps:
        nothing = "No answer was voted 👎. 🎉" if downvoted else "Nothing went unanswered. 🎉"
        return Reply("info", title, nothing, OK_COLOUR, footer=MOD_FOOTER)
    advice = (
        "Teach one by picking its intent below (it becomes a phrasing), or add new intents; check with `/kb why`."
        if can_teach
        else "Only pmbot's owners can teach them: propose one to them by picking its intent below (they see that "
        "question's words and nothing else of this server's); check with `/kb why`."
    ) + " Dismiss below the ones that are not pmbot's to answer."
    intro = (f"What pmbot could not answer, or answered and a member voted 👎, most frequent first, near-duplicates "
             f"grouped. {advice}")
    line_room = (limits.EMBED_DESCRIPTION - len(intro) - LISTING_SLACK) // len(gaps)  # every gap gets its line
    lines = []
    for n, gap in enumerate(gaps, 1):
        closest = f"closest: `{gap.best_intent}`" if gap.best_intent else "closest: none"
        if gap.downvoted:
            answered = f"answered `{gap.downvoted}`, voted 👎"
            closest = answered if gap.best_intent == gap.downvoted else f"{answered} · {closest}"
        closest += f" · after the answer to `{gap.follows}`" if gap.follows else ""
        closest += f" · proposed as `{gap.proposed}`" if gap.proposed else ""
        others = len(gap.variants) - 1
        variants = f" · +{others} variant{'s' if others > 1 else ''}" if others else ""
        head, tail = f"**{n}.** ×{gap.count} ", f"\n  {closest}{variants}"
        latest = f" · [latest]({gap.latest})" if gap.latest else ""
        if len(head) + len(tail) + len(latest) + 3 + SHORTEST_EXAMPLE <= line_room:  # never at a gap's expense
            tail += latest
        example = _quote(gap.example, max(SHORTEST_EXAMPLE, line_room - len(head) - len(tail) - 3))
        lines.append(head + example + tail)
    return _listing_reply(title, intro, lines, WARN_COLOUR)


def proposed_reply(question: str, title: str, intent_id: str) -> Reply:
    body = (f"Proposed {_quote(question)} to pmbot's owners as **{discord.utils.escape_markdown(title)}** "
            f"(`{intent_id}`). They review proposals with `/kb proposals` and teach it or turn it down; until then it "
            "stays in `/kb gaps`, marked as proposed. Pick again to propose another intent.")
    return Reply("info", "Proposed", body, OK_COLOUR, footer=MOD_FOOTER).fitted()


def proposals_reply(proposals: Sequence[Proposal], servers: Sequence[str], *, waiting: int) -> Reply:
    """The waiting proposals shown (of ``waiting``), each with the server that proposed it."""
    title = "Proposals from servers' moderators"
    if not proposals:
        return Reply("info", title, "No proposal is waiting. 🎉", OK_COLOUR, footer=MOD_FOOTER)
    more = f" {waiting} are waiting; these are the {len(proposals)} most asked." if waiting > len(proposals) else ""
    intro = ("Gaps that servers' moderators proposed to you, most asked first. Teach one as proposed, or turn "
             f"proposals down, below; `/kb teach` teaches a question as another intent.{more}")
    lines = [
        f"**{n}.** ×{p.count} {_quote(p.question, 200)} as `{p.intent_id}` · {discord.utils.escape_markdown(server)}"
        for n, (p, server) in enumerate(zip(proposals, servers), 1)
    ]
    return _listing_reply(title, intro, lines)


def declined_reply(questions: Sequence[str]) -> Reply:
    intro = "Turned down; each server's moderator log says so, and the questions stay in its `/kb gaps`."
    return _listing_reply("Turned down", intro, [f"• {_quote(q, 200)}" for q in questions], OK_COLOUR)


def dismissed_reply(examples: Sequence[str], deleted: int, days: int) -> Reply:
    """`days`: how long the same words, asked here again, are not recorded (the retention period)."""
    if not deleted:
        return Reply("info", "Nothing dismissed", "Those questions are no longer recorded here: dismissed already, "
                     "deleted with their messages, or past retention. `/kb gaps` shows what is left.", INFO_COLOUR,
                     footer=MOD_FOOTER)
    intro = (f"Took {len(examples)} gap{'s' if len(examples) > 1 else ''} ({deleted} recorded question"
             f"{'s' if deleted > 1 else ''}) off this server's list. The same words asked here again are not listed "
             f"for {days} days; other wordings are. If pmbot should answer them, its owners can teach it.")
    return _listing_reply("Dismissed", intro, [f"• {_quote(example, 200)}" for example in examples], OK_COLOUR)


def usage_reply(report: UsageReport, days: int, kb: KnowledgeBase) -> Reply:
    title = f"pmbot in this server, last {days} days"
    if not report.replies:
        return Reply("info", title, "pmbot has not replied to a question here in that time.", INFO_COLOUR,
                     footer=MOD_FOOTER)
    return Reply("info", title, _usage_text(report), OK_COLOUR, _most_answered(report, kb), footer=MOD_FOOTER).fitted()


def digest_reply(
    report: UsageReport, gaps: Sequence[GapReport], kb: KnowledgeBase, days: int, unpostable: Sequence[str] = ()
) -> Reply | None:
    """A server's week, posted in its moderator log: what /kb stats says, the gaps most asked, and the help channels
    pmbot may not answer in (``unpostable``: "<#id>: the permission it lacks"), which may be why the week was
    quiet. None for a week with nothing to tell, which is not worth a post."""
    if not report.replies and not gaps and not unpostable:
        return None
    body = _usage_text(report) if report.replies else "pmbot replied to no question here."
    lines = [f"×{gap.count} {_quote(gap.example, DIGEST_EXAMPLE)}"
             + (f" (answered `{gap.downvoted}`, voted 👎)" if gap.downvoted else "") for gap in gaps]
    shown, _ = _fit_lines(lines, limits.EMBED_FIELD_VALUE)
    fields = _most_answered(report, kb) + ((Field("Not answered, most asked", "\n".join(shown)),) if shown else ())
    if unpostable:
        warned, _ = _fit_lines([f"⚠️ {line}" for line in unpostable], limits.EMBED_FIELD_VALUE)
        fields += (Field("Help channels pmbot may not answer in: give its role", "\n".join(warned)),)
    return Reply("info", f"pmbot here, the last {days} days", body, OK_COLOUR, fields,
                 footer="The weekly digest. /config weekly-digest on:False stops it.").fitted()


def _usage_text(report: UsageReport) -> str:
    total, before = report.replies, report.answered_share_before
    answered = share(report.answered, total) + (f"; {before} in as many days before" if before else "")
    return (
        f"**{total}** question{'s' if total > 1 else ''} replied to:\n"
        f"• **{report.answered}** answered ({answered})\n"
        f"• **{report.suggested}** offered “Did you mean…” ({share(report.suggested, total)})\n"
        f"• **{report.unanswered}** not answered ({share(report.unanswered, total)})\n"
        "What it could not answer is listed in `/kb gaps`. "
        f"Votes on answers: 👍 {report.up} · 👎 {report.down} (`/kb feedback`; the questions voted 👎: "
        "`/kb gaps downvoted:True`)."
    )


def _most_answered(report: UsageReport, kb: KnowledgeBase) -> tuple[Field, ...]:
    lines = [
        f"×{n} {limits.clip(kb.intents[i].title if i in kb.intents else i, 80)} (`{i}`)" for i, n in report.most_answered
    ]
    shown, _ = _fit_lines(lines, limits.EMBED_FIELD_VALUE)
    return (Field("Most answered", "\n".join(shown)),) if shown else ()


def feedback_reply(rows: Sequence[FeedbackSummary], days: int) -> Reply:
    title = f"Feedback, last {days} days"
    if not rows:
        return Reply("info", title, "No 👍/👎 votes yet.", INFO_COLOUR, footer=MOD_FOOTER)
    intro = "Answers by share of 👎, worst first (more 👎 breaks a tie): rewrite the answers at the top."
    lines = [
        f"**{n}.** `{row.intent_id}`: {row.down_share:.0%} 👎 ({row.down} 👎 · {row.up} 👍)"
        for n, row in enumerate(rows, 1)
    ]
    return _listing_reply(title, intro, lines)


def why_reply(report: dict[str, Any]) -> Reply:
    """:func:`bot.matching.explain.explain` as an embed: the decision and thresholds, then the top intents."""
    t = report["thresholds"]
    verdict = f"**Decision: {report['decision']}**"
    if report["intent"]:
        verdict += f" → `{report['intent']}`"
    if report["suggestions"]:
        verdict += " · suggests " + ", ".join(f"`{s}`" for s in report["suggestions"])
    if report["also"]:
        verdict += " · also offers " + ", ".join(f"`{s}`" for s in report["also"])
    lines = [f"Question: {_quote(report['question'])}", f"Read as: {_quote(report['normalised'])}", verdict]
    if report["reason"]:
        lines.append(f"Why: {report['reason']}")
    if report["reading"]:
        lines.append(f"Reading: {report['reading']}")
    if report["off_topic"] is not None:
        lines.append(f"Classifier: {report['off_topic']:.0%} off-topic, {report['read']:.0%} of the words known")
    lines.append(
        f"Thresholds: answer when ≥ {t['answer']:g}% sure the intent is right; suggest from {t['suggest']:g}%; "
        "below that, fall back." + ("" if report["semantic"] else " Decided by words alone.")
    )
    fields = tuple(
        Field(
            f"{n}. {c['intent']}: {c['score']:.1f}% sure",
            f"{discord.utils.escape_markdown(c['title'])}\nmatched: {_quote(c['matched'], 400)}\n"
            f"words {c['words']:.0f} · meaning {'off' if c['similarity'] is None else format(c['similarity'], '.2f')} · "
            f"overlap {c['overlap']:.2f} · wording {c['wording']:.2f} · coverage {c['coverage']:.2f} · learned {c['learned']:.2f}",
        )
        for n, c in enumerate(report["candidates"], 1)
    )
    colour = DECISION_COLOURS.get(report["decision"], INFO_COLOUR)
    return Reply("info", "How pmbot reads this question", "\n".join(lines), colour, fields, footer=MOD_FOOTER).fitted()


def files_reply(sizes: Sequence[tuple[str, int]], asked: str | None) -> Reply:
    """The knowledge files with their sizes: what /kb download can send, when none (or no such file) was named."""
    intro = "Get one with `/kb download file:<name>`." if asked is None else f"There is no knowledge file {inline_code(asked)}."
    return _listing_reply("Knowledge files", intro, [f"`{name}` · {size:,} bytes" for name, size in sizes])
