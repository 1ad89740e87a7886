"""Health and metrics over HTTP (PMBOT_HEALTH_PORT): GET /healthz for orchestrators, GET /metrics for Prometheus.

Served by aiohttp (already there for discord.py) on the bot's own event loop,
so /healthz answers from the live state with no locking. It is 200 only while
the gateway connection is up and ready with knowledge loaded, 503 otherwise:
a bot that lost Discord and cannot get back is a bot to restart.

Metrics use prometheus-client with a registry per bot (tests run several).
What changes on its own (the gateway latency, the knowledge served) is read at
scrape time by a collector instead of being pushed on every change; errors are
counted by a logging handler, so every ERROR the bot or discord.py logs is
counted without a hook in each handler.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from bot.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.health")

REPLY_KINDS = ("answer", "suggest", "fallback")
# From a cache-warm answer (a few ms) to a slow Discord round trip: where the bot's reply times fall.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def knowledge_version(kb: KnowledgeBase) -> str:
    """A short hash of the files' contents: equal on every replica serving the same knowledge."""
    digest = hashlib.sha256()
    for source in sorted(kb.sources, key=lambda s: s.path.name):
        digest.update(f"{source.path.name}\0{source.sha256}\n".encode())
    return digest.hexdigest()[:12]


def is_healthy(bot: PMBot) -> bool:
    shards = bot.shards.values()  # an AutoShardedBot: connected means every shard of this process is
    connected = bot.is_ready() and not bot.is_closed() and bool(shards) and not any(s.is_closed() for s in shards)
    return connected and bool(bot.service.kb.intents)


class Metrics:
    """The bot's counters; ``replied`` is the one hook the question handlers call."""

    def __init__(self, bot: PMBot) -> None:
        self.registry = CollectorRegistry()
        self.replies = Counter(
            "pmbot_replies", "Replies to questions, by kind.", ["kind"], registry=self.registry
        )
        for kind in REPLY_KINDS:  # present at 0 from the start, so rates work from the first scrape
            self.replies.labels(kind)
        self.latency = Histogram(
            "pmbot_reply_seconds",
            "Time from receiving a question to its reply being sent.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter("pmbot_errors", "Errors logged, by logger.", ["logger"], registry=self.registry)
        self.commands = Counter(
            "pmbot_commands", "Slash and app commands run to the end, by name (a refused one is not).", ["command"],
            registry=self.registry,
        )
        self.registry.register(_LiveState(bot))
        self.error_counter = _ErrorCounter(self.errors)

    def replied(self, kind: str, started: float) -> None:
        """A reply of ``kind`` went out; ``started`` is ``time.perf_counter()`` when its question arrived."""
        self.replies.labels(kind).inc()
        self.latency.observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveState(Collector):
    """Read at scrape time: whether the bot is up, its gateway latency and the knowledge it serves."""

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        bot = self.bot
        yield GaugeMetricFamily("pmbot_up", "1 while connected to the gateway with knowledge loaded.", value=is_healthy(bot))
        latency = bot.latency
        yield GaugeMetricFamily(
            "pmbot_gateway_latency_seconds",
            "Time between a gateway heartbeat and its acknowledgement (NaN before the first).",
            value=latency if math.isfinite(latency) else math.nan,
        )
        yield GaugeMetricFamily("pmbot_guilds", "Servers this process's shards are in.", value=len(bot.guilds))
        kb = bot.service.kb
        info = InfoMetricFamily("pmbot_knowledge", "The knowledge being served.")
        info.add_metric([], {"version": knowledge_version(kb), "intents": str(len(kb.intents))})
        yield info
        yield GaugeMetricFamily(
            "pmbot_knowledge_loaded_timestamp_seconds",
            "When the served knowledge was loaded (Unix time).",
            value=kb.loaded_at.timestamp(),
        )


class _ErrorCounter(logging.Handler):
    def __init__(self, errors: Counter) -> None:
        super().__init__(level=logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.labels(record.name).inc()


class HealthServer:
    """The HTTP side; started before Discord connects so a probe sees 503 (not a refused connection) at start."""

    def __init__(self, bot: PMBot, metrics: Metrics, host: str, port: int) -> None:
        self.bot = bot
        self.metrics = metrics
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else self.port
        logging.getLogger().addHandler(self.metrics.error_counter)
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, bound)

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self.metrics.error_counter)
        await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        if is_healthy(self.bot):
            return web.Response(text="ok: connected to Discord, knowledge loaded\n")
        return web.Response(status=503, text="unavailable: not connected to the Discord gateway\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
