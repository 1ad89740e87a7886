"""Stopping without dropping replies: handlers already running get a few seconds to finish.

discord.py runs every event handler, slash command and button callback as a
task of its own, named after what it runs; on SIGTERM those that are running
are the replies in flight. They are awaited (up to a limit) before the HTTP
session closes, because after that every send fails with "Session is closed".
Matching the task names is the one way in without wrapping every handler;
the names are discord.py's (client.py, app_commands/tree.py, ui/view.py, ui/modal.py).
"""

from __future__ import annotations

import asyncio
import logging

from bot import background

log = logging.getLogger("pmbot.shutdown")

POLL = 0.05
HANDLER_TASKS = (
    "discord.py: on_",  # events: messages, interactions, ...
    "CommandTree-invoker",  # slash commands
    "discord-ui-view-dispatch-",  # buttons and selects of live views
    "discord-ui-dynamic-item-",  # persistent buttons (follow-ups, votes)
    "discord-ui-modal-dispatch-",
)


async def drain_handlers(timeout: float) -> int:
    """Waits up to ``timeout`` s for the handlers running now; returns how many were still running.

    A handler waiting for a knowledge build (/kb reload, upload) is not waited for: the build is
    abandoned at exit, and waiting for it is what made a stop take over a minute.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    current = asyncio.current_task()
    running = {task for task in asyncio.all_tasks() if task is not current and task.get_name().startswith(HANDLER_TASKS)}
    if running:
        log.info("waiting up to %.0fs for %d reply(s) in flight", timeout, len(running))
    while True:
        running = {task for task in running if not task.done() and task not in background.waiting}
        left = deadline - loop.time()
        if not running or left <= 0:
            break
        await asyncio.wait(running, timeout=min(left, POLL))  # re-checked: a handler may start a build meanwhile
    if running:
        log.warning("%d reply(s) still unfinished after %.0fs; stopping anyway", len(running), timeout)
    return len(running)


def cut_off_by_shutdown(exc: BaseException | None) -> bool:
    """The error only says the HTTP session closed under a handler (aiohttp, after Client.close()): nothing to report."""
    return isinstance(exc, RuntimeError) and "Session is closed" in str(exc)
