"""Long CPU work (loading and indexing knowledge) off the event loop, in threads that never hold up an exit.

``asyncio.to_thread`` would do, except that its executor's threads are joined
when the loop and the interpreter shut down: a SIGTERM that lands during a
reload of large knowledge then waits for the whole build (over a minute was
measured) before the process can exit, and a service manager kills it instead.
A daemon thread is abandoned at exit. Only work whose result can simply be
dropped belongs here: building a matcher, never writing a file.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from typing import Any, Callable, TypeVar

T = TypeVar("T")

#: Tasks waiting for background work now: a shutdown does not wait for them, their result would be dropped.
waiting: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


async def in_background_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a daemon thread; cancelling the caller stops waiting (the thread's result is dropped)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(set_outcome: Callable[[Any], None], value: Any) -> None:
        if not future.done():  # cancelled meanwhile: nobody wants it any more
            set_outcome(value)

    def work() -> None:
        try:
            outcome: tuple[Callable[[Any], None], Any] = (future.set_result, context.run(fn, *args))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, which decides
            outcome = (future.set_exception, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop has closed: the process is exiting
            pass

    threading.Thread(target=work, name=f"pmbot-{getattr(fn, '__name__', 'work')}", daemon=True).start()
    task = asyncio.current_task()
    if task is not None:
        waiting.add(task)
    try:
        return await future
    finally:
        waiting.discard(task)  # type: ignore[arg-type]
