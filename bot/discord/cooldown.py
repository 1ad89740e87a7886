"""Per-user question cooldown with a single notice per burst.

Someone flooding the bot gets answers up to the limit, then one friendly
notice, then silence until the window passes: a notice per message would be
as noisy as the flood itself. (Slash commands and buttons must answer every
interaction, so there the notice is ephemeral and sent every time.)
"""

from __future__ import annotations

import math
import time
from typing import Callable

from bot.discord.errors import CooldownActive

MAX_TRACKED_USERS = 10_000


class QuestionCooldown:
    """``rate`` questions per ``per`` seconds per user, a sliding window."""

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("rate must be >= 1 and per > 0")
        self.rate = rate
        self.per = per
        self.clock = clock
        self._asked: dict[int, list[float]] = {}
        self._noticed_until: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and counts the question); else seconds to wait."""
        now = self.clock()
        recent = [t for t in self._asked.get(user_id, ()) if now - t < self.per]
        if len(recent) < self.rate:
            recent.append(now)
            self._asked[user_id] = recent
            self._forget_old(now)
            return 0.0
        self._asked[user_id] = recent
        return self.per - (now - recent[0])

    def should_notify(self, user_id: int, retry_after: float) -> bool:
        """True once per blocked burst, so the user hears about the limit exactly once."""
        now = self.clock()
        if self._noticed_until.get(user_id, -math.inf) > now:
            return False
        self._noticed_until[user_id] = now + retry_after
        self._forget_old(now)
        return True

    def _forget_old(self, now: float) -> None:
        """Drops users whose window has passed, so the tables never grow without bound."""
        if len(self._asked) > MAX_TRACKED_USERS:
            self._asked = {u: ts for u, ts in self._asked.items() if ts and now - ts[-1] < self.per}
        if len(self._noticed_until) > MAX_TRACKED_USERS:
            self._noticed_until = {u: t for u, t in self._noticed_until.items() if t > now}


class GuildCooldowns:
    """One :class:`QuestionCooldown` per server, sized by that server's rate and period.

    ``limits(guild_id)`` gives the (rate, seconds) in force; when a server's
    moderators change them, its cooldown starts afresh with the new size.
    DMs (``guild_id`` None) share one cooldown with the default limits.
    """

    def __init__(self, limits: Callable[[int | None], tuple[int, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._by_guild: dict[int | None, QuestionCooldown] = {}

    def for_guild(self, guild_id: int | None) -> QuestionCooldown:
        rate, per = self._limits(guild_id)
        current = self._by_guild.get(guild_id)
        if current is None or (current.rate, current.per) != (rate, per):
            current = self._by_guild[guild_id] = QuestionCooldown(rate, per, self._clock)
        return current

    def take_turn(self, guild_id: int | None, user_id: int) -> None:
        """Counts an interaction's question (a command, a button) against the user's cooldown in the server;
        CooldownActive, which the interaction's error handler tells them, when they must wait."""
        if wait := self.for_guild(guild_id).retry_after(user_id):
            raise CooldownActive(wait)

    def forget(self, guild_id: int) -> None:
        self._by_guild.pop(guild_id, None)
