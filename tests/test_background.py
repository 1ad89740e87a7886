"""Work handed to a background thread returns its result, and never keeps a stopping process alive."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.background import in_background_thread
from tests.conftest import ROOT, clean_env


async def test_the_result_and_the_exception_reach_the_caller() -> None:
    assert await in_background_thread(sum, [1, 2, 3]) == 6
    with pytest.raises(ValueError, match="nope"):
        await in_background_thread(int, "nope")


def test_a_process_exits_without_waiting_for_work_nobody_waits_for_any_more() -> None:
    """Like SIGTERM during a reload: the reload is abandoned, asyncio.run and the interpreter exit at once."""
    script = textwrap.dedent(
        """
        import asyncio, time
        from bot.background import in_background_thread

        async def main():
            try:
                await asyncio.wait_for(in_background_thread(time.sleep, 600), 0.1)
            except asyncio.TimeoutError:
                print("gave up waiting", flush=True)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "gave up waiting", "")
