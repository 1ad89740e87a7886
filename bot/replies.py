"""Platform-neutral replies: what to say, before any front end decides how.

Discord turns a Reply into an embed with buttons, the console into text with
numbered options, the CLI into JSON. Discord's limits are applied here, once,
so no front end can send a payload Discord would reject.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, Sequence

from bot import limits
from bot.knowledge import Intent, KnowledgeBase, Role
from bot.knowledge.loader import phrase_key
from bot.matching import MatchResult

ReplyKind = Literal["answer", "suggest", "fallback", "info"]

NEUTRAL_COLOUR = 0x64748B
FALLBACK_COLOUR = 0x94A3B8
ASK_MORE_HINT = "Ask another question by mentioning me, in a DM, or with /ask · /topics lists everything I know"
SERVER_NOTES_TITLE = "From this server"
EXAMPLE_COUNT = 3
TOPIC_PREVIEW = 4  # questions named per category in /topics


@dataclass(frozen=True)
class Option:
    """A follow-up or suggestion the user can pick: an intent and the label to show."""

    intent_id: str
    label: str


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    title: str
    body: str
    colour: int = NEUTRAL_COLOUR
    fields: tuple[Field, ...] = ()
    options: tuple[Option, ...] = ()  # follow-ups after an answer, or "Did you mean…" choices
    footer: str = ASK_MORE_HINT
    intent_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fitted(self) -> Reply:
        """This reply cut to Discord's limits, marking every cut with an ellipsis."""
        fields = tuple(
            Field(limits.clip(f.name, limits.EMBED_FIELD_NAME), limits.clip(f.value, limits.EMBED_FIELD_VALUE), f.inline)
            for f in self.fields[: limits.EMBED_FIELDS]
        )
        title = limits.clip(self.title, limits.EMBED_TITLE)
        footer = limits.clip(self.footer, limits.EMBED_FOOTER)
        fixed = len(title) + len(footer) + sum(len(f.name) + len(f.value) for f in fields)
        body_room = min(limits.EMBED_DESCRIPTION, limits.EMBED_TOTAL - fixed)
        while body_room < 1 and fields:  # drop trailing fields until the description fits at all
            last = fields[-1]
            fields = fields[:-1]
            body_room += len(last.name) + len(last.value)
        options = tuple(
            Option(o.intent_id, limits.clip(o.label, limits.BUTTON_LABEL))
            for o in self.options[: limits.BUTTONS_PER_ROW * (limits.ACTION_ROWS - 1)]
        )
        return replace(self, title=title, body=limits.clip(self.body, max(body_room, 1)), fields=fields,
                       footer=footer, options=options)


def _option(intent: Intent) -> Option:
    return Option(intent.id, intent.title)


def _colour(kb: KnowledgeBase, intent: Intent) -> int:
    category = kb.categories.get(intent.category)
    return category.colour if category else NEUTRAL_COLOUR


def answer_reply(kb: KnowledgeBase, intent: Intent, also: tuple[str, ...] = ()) -> Reply:
    """`also`: intents the question may have asked about too (MatchResult.also), offered before the follow-ups."""
    offered = dict.fromkeys(i for i in (*also, *intent.follow_ups) if i in kb.intents)
    follow_ups = tuple(_option(kb.intents[i]) for i in offered)
    return Reply("answer", intent.title, intent.answer, _colour(kb, intent), options=follow_ups,
                 intent_id=intent.id).fitted()


def with_server_notes(reply: Reply, notes: Sequence[str]) -> Reply:
    """An answer with what a server's moderators put under it: their own channels and resources, which the knowledge
    every server shares cannot name. Only answers carry notes: a "Did you mean…" is about no one topic yet."""
    if reply.kind != "answer" or not notes:
        return reply
    return replace(reply, fields=(*reply.fields, Field(SERVER_NOTES_TITLE, "\n\n".join(notes)))).fitted()


def example_questions(kb: KnowledgeBase, count: int = EXAMPLE_COUNT) -> list[Intent]:
    """One intent from each of the first categories: a spread, and the same every time."""
    picks: list[Intent] = []
    for category in kb.categories:
        if category == "meta":
            continue
        intents = kb.intents_in(category)
        if intents:
            picks.append(intents[0])
        if len(picks) == count:
            break
    return picks


def build_reply(kb: KnowledgeBase, result: MatchResult) -> Reply:
    """The reply for a match: an answer, a "Did you mean…", or a helpful fallback."""
    if result.kind == "answer" and result.intent_id in kb.intents:
        return answer_reply(kb, kb.intents[result.intent_id], result.also)
    if result.kind == "suggest" and result.suggestions:
        options = tuple(_option(kb.intents[i]) for i in result.suggestions if i in kb.intents)
        if len(options) == 1:  # "which of these" over a single button reads as a glitch
            body = "I'm not sure this is what you're asking. Pick it to see the answer, or ask again in other words."
        else:
            body = "I'm not sure which of these you mean. Pick one, or ask again in other words."
        if result.ambiguous_word in kb.ambiguous:
            meanings = kb.ambiguous[result.ambiguous_word]
            spelled = ", ".join(meanings[:-1]) + f" or {meanings[-1]}"
            body = f"**{result.ambiguous_word.upper()}** can mean {spelled}, so I'd rather not guess. " + body
        return Reply("suggest", "Did you mean…", body, NEUTRAL_COLOUR, options=options).fitted()
    return fallback_reply(kb)


def fallback_reply(kb: KnowledgeBase) -> Reply:
    examples = example_questions(kb)
    topics = "\n".join(f"• {c.title}" for c in kb.categories.values() if c.id != "meta")
    body = (
        "I couldn't match that to anything I know. I answer questions about **product management "
        f"vs project management**:\n{topics}\n\nTry one of these, or use /topics to browse."
    )
    return Reply("fallback", "Sorry, I don't know that one", body, FALLBACK_COLOUR,
                 options=tuple(_option(i) for i in examples)).fitted()


_QUOTES = "\"'`“”‘’„«»"


def _role_names(typed: str) -> list[str]:
    """What a typed role name may stand for: itself without quotes, and both names in "Scrum Master (SM)"."""
    text = typed.strip().strip(_QUOTES).strip()
    outside = re.sub(r"\([^)]*\)", " ", text)
    inside = re.findall(r"\(([^)]*)\)", text)
    return [n for n in dict.fromkeys(" ".join(n.strip(_QUOTES).split()) for n in (text, outside, *inside)) if n]


def role_lookup(kb: KnowledgeBase, typed: str) -> Reply | None:
    """What /role shows for a role as people type it; None when it names nothing pmbot knows.

    Besides names and aliases: an abbreviation from the synonyms ("prod manager", "TPM": the
    intent about that role if it has no card), and a word with several meanings ("PM"), for
    which it asks which role is meant rather than guess.
    """
    for name in _role_names(typed):
        key = phrase_key(name)
        canonical = next((c for c, variants in kb.synonyms.items() if key in variants), key)
        role = kb.find_role(key) or kb.find_role(canonical)
        if role is not None:
            return role_reply(kb, role)
        if key in kb.ambiguous:
            return _ambiguous_role_reply(kb, key)
        if len(canonical.split()) >= 2:
            intent = next((i for i in kb.intents.values() if phrase_key(i.title).endswith(canonical)), None)
            if intent is not None:
                return answer_reply(kb, intent)
    return None


def _ambiguous_role_reply(kb: KnowledgeBase, word: str) -> Reply:
    roles = [role for reading in kb.ambiguous[word] if (role := kb.find_role(reading)) is not None]
    names = [r.name.lower() for r in roles]
    spelled = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
    commands = ", ".join(f"`/role {n}`" for n in names)
    body = f"**{word.upper()}** is ambiguous: it can mean {spelled}. Which one? {commands}"
    options = tuple(_option(kb.intents[r.intent]) for r in roles if r.intent in kb.intents)
    return Reply("suggest", f"Which {word.upper()}?", body, NEUTRAL_COLOUR, options=options).fitted()


def role_reply(kb: KnowledgeBase, role: Role) -> Reply:
    fields = [
        Field("Focus", role.focus),
        Field("Answers", role.answers),
        Field("Owns", "\n".join(f"• {o}" for o in role.owns), inline=True),
        Field("Skills", "\n".join(f"• {s}" for s in role.skills), inline=True),
        Field("Success looks like", role.success),
    ]
    relations = [f"**{kb.roles[r.role].name}**: {r.how}" for r in role.relates_to if r.role in kb.roles]
    if relations:
        fields.append(Field("Works with", "\n".join(relations)))
    aliases = f"\n*Also written:* {', '.join(role.aliases)}" if role.aliases else ""
    options = (_option(kb.intents[role.intent]),) if role.intent in kb.intents else ()
    return Reply("info", role.name, role.summary + aliases, NEUTRAL_COLOUR, tuple(fields), options).fitted()


def comparison_reply(kb: KnowledgeBase, aspect: str | None = None) -> Reply:
    """The two roles side by side, on every aspect or on the one named (e.g. "time horizon")."""
    comp = kb.comparison
    if comp is None:
        return Reply("info", "No comparison yet", "The knowledge has no `comparison:` section.").fitted()
    left, right = kb.roles[comp.left].name, kb.roles[comp.right].name
    dimensions = comp.dimensions
    body = "Side by side, aspect by aspect."
    if aspect and aspect.strip():
        key = phrase_key(aspect)
        dimensions = tuple(d for d in comp.dimensions if key in phrase_key(d.name))
        if not dimensions:
            names = ", ".join(f"**{d.name.lower()}**" for d in comp.dimensions)
            body = (
                f"/compare puts the {left.lower()} and the {right.lower()} side by side. It takes no roles, "
                f"only one of these aspects, or nothing for all of them: {names}.\n\n"
                "To compare other roles, ask a question, e.g. “product owner vs product manager”."
            )
            return Reply("info", f"No aspect called “{limits.clip(aspect.strip(), 60)}”", body, NEUTRAL_COLOUR).fitted()
        body = f"On {', '.join(d.name.lower() for d in dimensions)}. /compare alone shows every aspect."
    fields = tuple(Field(d.name, f"**{left}:** {d.left}\n**{right}:** {d.right}") for d in dimensions)
    options = tuple(_option(kb.intents[i]) for i in ("key-differences", "how-they-work-together") if i in kb.intents)
    return Reply("info", comp.title, body, NEUTRAL_COLOUR, fields, options).fitted()


def topics_reply(kb: KnowledgeBase, category: str | None = None) -> Reply:
    """All topics by category, or the questions of one category."""
    if category and category in kb.categories:
        cat = kb.categories[category]
        intents = kb.intents_in(category)
        body = "\n".join(f"• {i.title}" for i in intents)
        return Reply("info", cat.title, body, cat.colour, options=tuple(map(_option, intents))).fitted()
    fields = tuple(
        Field(f"{c.title} ({len(intents)})", ", ".join(i.title for i in intents[:TOPIC_PREVIEW]) + (" …" if len(intents) > TOPIC_PREVIEW else ""))
        for c in kb.categories.values()
        if (intents := kb.intents_in(c.id))
    )
    return Reply("info", "Topics", "Pick a category to see its questions.", NEUTRAL_COLOUR, fields).fitted()


ABOUT = (
    "I answer questions about **product management vs project management**: what each role does, "
    "how they differ and work together, careers, and the methods they use."
)


def help_reply(kb: KnowledgeBase) -> Reply:
    """/help on Discord; the example questions are its buttons."""
    body = (
        f"{ABOUT}\n\n"
        "**Ask me** by mentioning me, in a DM, or with `/ask`; for someone's question, use the message's "
        "**Apps → Ask pmbot**, or forward it to me.\n"
        "**Commands:** `/ask` a question · `/role` a role summary · `/compare` the two roles side by side · "
        "`/topics` browse everything · `/privacy` what pmbot keeps about you · `/help` how to use pmbot, with "
        "example questions.\n\n"
        "**Try** one of the questions below."
    )
    return Reply("info", "How to use pmbot", body, NEUTRAL_COLOUR, options=tuple(map(_option, example_questions(kb)))).fitted()
