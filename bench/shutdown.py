"""How long `docker stop` (SIGTERM) takes to stop the real bot, against the fake Discord.

    python bench/shutdown.py [--copies N] [--json]

Docker and most service managers kill a process 10 s after SIGTERM, so the goal is
an exit with code 0 well within that, in three cases: idle; while `/kb reload`
indexes knowledge N times the shipped size (the reload is abandoned, not awaited);
and with a reply in flight that Discord accepts only after 2 s (the reply is
delivered, then the bot stops).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from e2e_support import add_users, cloned_intents, copy_knowledge, reply_to, start_bot, wait_ready  # noqa: E402
from fake_discord import FakeDiscord  # noqa: E402

GOAL_S = 10.0
REPLY_HELD_S = 2.0


def stop_time(case: str, copies: int) -> float:
    with tempfile.TemporaryDirectory(prefix="pmbot-bench-") as scratch, FakeDiscord(default_timeout=120) as fake:
        add_users(fake, 1)
        knowledge = copy_knowledge(Path(scratch) / "knowledge")
        bot = start_bot(fake, Path(scratch) / "bot", knowledge)
        try:
            wait_ready(fake, bot, ("ask", "kb"))
            if case == "mid-reload":
                (knowledge / "clones.yaml").write_text(cloned_intents(knowledge, copies))
                handle = fake.send_slash_command("kb reload", None, user=fake.moderator)
                handle.wait_response()  # deferred: the reload is running
            elif case == "reply-in-flight":
                held = fake.hold("POST", r"/channels/\d+/messages")
                question = fake.send_message("general", "What is scope creep?", author="asker0", mentions_bot=True)
                held.arrived.wait(120)
                threading.Timer(REPLY_HELD_S, fake.release, (held,)).start()
            started = time.monotonic()
            bot.proc.send_signal(signal.SIGTERM)
            code = bot.proc.wait(timeout=120)
            elapsed = time.monotonic() - started
            if code != 0:
                raise SystemExit(f"{case}: exit code {code}\n{bot.log()[-3000:]}")
            if case == "reply-in-flight":
                reply_to(fake, question, timeout=1)
            return elapsed
        finally:
            bot.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10, help="knowledge size for the reload, in shipped sizes (default 10)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = {case: round(stop_time(case, args.copies), 2) for case in ("idle", "mid-reload", "reply-in-flight")}
    if args.json:
        print(json.dumps({"seconds_to_exit": results, "goal_s": GOAL_S}))
    else:
        for case, seconds in results.items():
            print(f"SIGTERM {case:<16} exit 0 in {seconds:5.2f} s  (goal < {GOAL_S:.0f} s)")
    return 0 if all(s < GOAL_S for s in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
