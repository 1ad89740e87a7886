"""What pmbot does in a help channel when nobody addressed it: which messages it reads, and which it replies to.

A help channel is a conversation between people, so the bot speaks there unasked only when it has
something to offer. These rules live outside bot.discord so that `eval` can count how often the bot
would speak up in such a channel (bot/evaluation.py) by the very rules the bot follows
(bot/discord/listening.py, bot/discord/cogs/questions.py).
"""

from __future__ import annotations

import re

from bot.matching import SMALL_TALK, MatchResult
from bot.matching.normalise import without_markup

QUESTION_WORDS = frozenset(
    """
    what whats what's who whos who's whom whose why how hows how's when where which
    is isn't are aren't am was were can can't could couldn't should shouldn't would wouldn't
    do does doesn't did didn't will won't shall may might
    explain difference differences compare comparing define definition describe tell
    """.split()
)
_FIRST_WORD = re.compile(r"[a-z][a-z']*")
# Another bot's command ("?help", "!rank", ".tag scrum"): a prefix glued to a word in lower case (not ".NET", "$100k").
# "?help" was answered with pmbot's own help, "?rank" with which role is more senior.
_BOT_COMMAND = re.compile(r"[!?.$%;~+=&>\-][a-z]")


def looks_like_question(text: str) -> bool:
    """A '?' anywhere but in a link, or a first word like "what", "how", "explain", "difference", after any mention;
    never a command for another bot."""
    text = without_markup(text).strip()
    if _BOT_COMMAND.match(text):
        return False
    if "?" in text:
        return True
    first = _FIRST_WORD.search(text.lower().replace("’", "'"))
    return bool(first) and first.start() <= 2 and first.group(0) in QUESTION_WORDS


def replies_unasked(result: MatchResult, *, suggestions: bool = True) -> bool:
    """Whether a match is worth a reply to a message not addressed to the bot.

    Not a fallback ("I don't know" to a conversation is noise), not a "Did you mean…" where the server turned those
    off (`suggestions`: near-domain chat draws more of them than questions do), and not a hello or thank-you alone:
    "good morning everyone" and "thanks, that fixed it" are for the people there.
    """
    if result.kind == "fallback" or (result.kind == "suggest" and not suggestions):
        return False
    return not {result.intent_id, *result.suggestions} - {None} <= SMALL_TALK
