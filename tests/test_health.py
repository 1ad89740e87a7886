"""/healthz says 503 until the bot is connected; errors anyone logs are counted in /metrics."""

from __future__ import annotations

import logging

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.discord.app import PMBot
from bot.discord.health import HealthServer
from tests.conftest import KNOWLEDGE, warm_service


async def test_healthz_is_503_before_the_gateway_is_connected_and_errors_are_counted() -> None:
    bot = PMBot(Settings(auto_reload=False), warm_service(KNOWLEDGE), store=None, auto_sync=False)
    server = HealthServer(bot, bot.metrics, "127.0.0.1", 0)
    client = TestClient(TestServer(server._runner.app))
    await client.start_server()
    logging.getLogger().addHandler(bot.metrics.error_counter)
    try:
        response = await client.get("/healthz")
        assert response.status == 503
        assert "not connected" in await response.text()
        logging.getLogger("pmbot.errors").error("interaction failed: a test")
        text = await (await client.get("/metrics")).text()
        assert 'pmbot_errors_total{logger="pmbot.errors"} 1.0' in text
        assert "pmbot_up 0.0" in text
        assert 'pmbot_replies_total{kind="suggest"} 0.0' in text
    finally:
        logging.getLogger().removeHandler(bot.metrics.error_counter)
        await client.close()  # the bot never logged in: nothing of it to close
