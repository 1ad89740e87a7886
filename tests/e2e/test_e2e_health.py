"""End to end: /healthz and /metrics (PMBOT_HEALTH_PORT) of the real bot process, through the fake Discord."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

from e2e_support import EVENT_TIMEOUT, HELP_CHANNEL, BotProcess, reply_to, wait_for_log
from fake_discord import FakeDiscord


def BOT_ENV(fake: FakeDiscord) -> dict[str, str]:
    return {"PMBOT_HEALTH_PORT": "0", "PMBOT_LISTEN_CHANNELS": str(fake.channel_id(HELP_CHANNEL))}  # 0: any free port


def get(bot: BotProcess, path: str) -> tuple[int, str]:
    line = wait_for_log(bot, "/healthz and /metrics", after=0)
    base = re.search(r"(http://[\d.]+:\d+)/healthz", line)
    assert base, line
    try:
        with urllib.request.urlopen(base.group(1) + path, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, f"{name} not in /metrics:\n{text}"
    return float(found.group(1))


def metrics_once_replied(bot: BotProcess, replies: float) -> str:
    """/metrics once it has counted `replies` replies: a reply reaches Discord a moment before the bot counts it."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        status, text = get(bot, "/metrics")
        assert status == 200
        if metric(text, "pmbot_reply_seconds_count") >= replies or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_healthz_is_200_while_connected_with_knowledge(fake: FakeDiscord, bot: BotProcess) -> None:
    wait_for_log(bot, "connected as", after=0)  # on_ready: discord.py is ready once the guilds have arrived
    status, body = get(bot, "/healthz")
    assert (status, body.strip()) == (200, "ok: connected to Discord, knowledge loaded")


def test_metrics_count_replies_by_kind_and_time_them(fake: FakeDiscord, bot: BotProcess, new_user) -> None:
    wait_for_log(bot, "connected as", after=0)
    _, before = get(bot, "/metrics")
    user = new_user()
    reply_to(fake, fake.send_message("general", "What is scope creep?", author=user, mentions_bot=True))
    reply_to(fake, fake.send_message("general", "best pizza in naples?", author=user, mentions_bot=True))
    after = metrics_once_replied(bot, metric(before, "pmbot_reply_seconds_count") + 2)
    for kind in ("answer", "fallback"):
        name = f'pmbot_replies_total{{kind="{kind}"}}'
        assert metric(after, name) == metric(before, name) + 1
    assert metric(after, 'pmbot_replies_total{kind="suggest"}') == metric(before, 'pmbot_replies_total{kind="suggest"}')
    assert metric(after, "pmbot_reply_seconds_count") == metric(before, "pmbot_reply_seconds_count") + 2
    assert metric(after, "pmbot_up") == 1.0
    assert re.search(r'^pmbot_knowledge_info\{intents="\d+",version="[0-9a-f]{12}"\} 1\.0$', after, re.M), after
    assert "pmbot_gateway_latency_seconds " in after and "# TYPE pmbot_errors_total counter" in after
    assert metric(after, "pmbot_guilds") == 1.0


def test_metrics_count_the_commands_run_by_name(fake: FakeDiscord, bot: BotProcess) -> None:
    wait_for_log(bot, "connected as", after=0)
    _, before = get(bot, "/metrics")
    assert 'pmbot_commands_total{command="topics"}' not in before
    for _ in range(2):
        assert fake.send_slash_command("topics", user="user").wait_response().ok
    deadline = time.monotonic() + EVENT_TIMEOUT
    while 'pmbot_commands_total{command="topics"} 2.0' not in (after := get(bot, "/metrics")[1]):
        assert time.monotonic() < deadline, after  # counted just after the response went out
        time.sleep(0.05)
