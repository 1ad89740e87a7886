"""A follow-up that only names another role: "what about project managers?" after a salary answer.

Read alone, such a message says nothing but the role, and pmbot could only guess ("Did you mean: What does a
project manager do?"). Read after the answer it follows, it asks that answer's question of the other role. Many
of the knowledge's intents come in pairs across product and project (salary, skills, how to become one, what the
role does), so the follow-up is answered by the answered intent's counterpart: the intent one of its phrasings
leads to once its role is swapped, and which leads back to it when swapped again. Checking both ways keeps a
topic without a twin from borrowing a neighbour: "is product management a growing field" swapped to project
leads to what project management is, whose own swap leads to what product management is, not back to demand.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.matching.matcher import Matcher, MatchResult
from bot.matching.normalise import ROLE_WORDS

FOLLOW_UP_WORDS = 8  # longer, a message says what it asks and is read on its own
# All a bare follow-up holds besides its role ("what about…", "and for…", "is it the same for…", "how about the…
# side?"), and the words of those that say it follows something: "what is project management?" asks on its own.
ELLIPSIS_WORDS = frozenset({"what", "how", "about", "and", "for", "is", "it", "the", "a", "an", "same", "side", "role",
                            "one", "too", "also", "instead", "then", "so", "ok", "okay", "manager", "management"})
FOLLOWING_WORDS = frozenset({"about", "and", "for", "same", "too", "also", "instead"})
_ROLE_WORD = re.compile(rf"\b({'|'.join(ROLE_WORDS)})\b", re.IGNORECASE)


def read_after(matcher: Matcher, alone: MatchResult, follows: str) -> MatchResult:
    """A question already matched on its own (`alone`), read as a follow-up to the answer for intent `follows`.

    Takes the match rather than the question because a front end matches first and looks for what the question
    follows only when it is a bare role that its own words do not answer. A question answered on its own keeps
    that answer; only a bare role is read as the counterpart's question. Either way the result says what it
    followed, for the gaps list: read alone, "what about project managers?" tells a moderator nothing.
    """
    if alone.kind == "answer" or (role := named_role(matcher, alone.question)) is None:
        return replace(alone, follows=follows)
    if (counterpart := _counterpart(matcher, follows, role)) is None:
        return replace(alone, follows=follows)
    text, answer = counterpart
    why = f"a follow-up to {follows} about the {role} role, read as {text!r}; {answer.reason}"
    return replace(answer, question=alone.question, reason=why, follows=follows)


def named_role(matcher: Matcher, question: str) -> str | None:
    """The one role a bare follow-up names ("and for project managers?", "project managers?"), or None when the
    message asks something of its own."""
    return bare_role(matcher.normaliser.tokens(question))


def bare_role(tokens: list[str]) -> str | None:
    """named_role over tokens already normalised (`teach` has no matcher, and reads plain tokens)."""
    roles = set(tokens) & set(ROLE_WORDS)
    if len(tokens) > FOLLOW_UP_WORDS or len(roles) != 1 or not set(tokens) <= ELLIPSIS_WORDS | roles:
        return None
    bare = set(tokens) <= roles | {"manager", "management"}
    return roles.pop() if bare or FOLLOWING_WORDS & set(tokens) else None


def _counterpart(matcher: Matcher, intent_id: str, role: str) -> tuple[str, MatchResult] | None:
    """The answer one of the intent's phrasings gets, and that phrasing, once its role is `role`; None unless
    the answer is another intent whose own phrasing, swapped back, leads to this one."""
    own = _one_role_phrasing(matcher, intent_id)
    if own is None or own[1] == role:
        return None
    text = _ROLE_WORD.sub(role, own[0])
    there = matcher.match(text)
    if there.kind != "answer" or there.intent_id in (None, intent_id):
        return None
    theirs = _one_role_phrasing(matcher, there.intent_id)
    if theirs is None or theirs[1] != role:
        return None
    back = matcher.match(_ROLE_WORD.sub(own[1], theirs[0]))
    return (text, there) if back.kind == "answer" and back.intent_id == intent_id else None


def _one_role_phrasing(matcher: Matcher, intent_id: str) -> tuple[str, str] | None:
    """The intent's first phrasing that names one role word as written (not "PdM"), and that role; None if none does."""
    intent = matcher.kb.intents.get(intent_id)
    for phrasing in intent.phrasings if intent is not None else ():
        written = {w.lower() for w in _ROLE_WORD.findall(phrasing)}
        if len(written) == 1 and set(matcher.normaliser.tokens(phrasing)) & set(ROLE_WORDS) == written:
            return phrasing, written.pop()
    return None
