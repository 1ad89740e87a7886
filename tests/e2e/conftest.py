"""End-to-end fixtures: the real bot process (`python -m bot run`) against FakeDiscord on loopback.

One bot process per test module (module-scoped fixtures) keeps the suite
fast; each module may set ``BOT_ENV = {...}`` (or a function of the fake
returning one, for settings naming the fake's channels) to replace the bot's
extra settings (default: #pm-questions and the #pm-forum forum as help
channels) and ``BOT_COMMANDS`` to name the commands to wait for. After every
test, the fake must have seen no payload over Discord's limits, no unsafe
``allowed_mentions`` and no unknown route; a failing test shows the tail of
the bot's log.

Each test should ask as its own user (``new_user()``), so the per-user
cooldown of one test never leaks into another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from e2e_support import (
    EVENT_TIMEOUT, HELP_CHANNEL, HELP_FORUM, BotProcess, add_users, copy_knowledge, start_bot, wait_ready,
)
from fake_discord import FakeDiscord, FakeUser

from bot.service import KnowledgeService
from tests.conftest import warm_service


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def knowledge(workdir: Path) -> Path:
    """A private copy of the knowledge: tests may edit it and /kb reload it."""
    return copy_knowledge(workdir / "knowledge")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(strict_commands=True, default_timeout=EVENT_TIMEOUT).start()
    add_users(server, 48)  # before the bot connects: the world is not changed while the fake serves it
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bot(fake: FakeDiscord, workdir: Path, knowledge: Path, request: pytest.FixtureRequest) -> Iterator[BotProcess]:
    help_channels = f"{fake.channel_id(HELP_CHANNEL)},{fake.channel_id(HELP_FORUM)}"
    env = getattr(request.module, "BOT_ENV", {"PMBOT_LISTEN_CHANNELS": help_channels})
    settings = dict(env(fake) if callable(env) else env)
    process = start_bot(fake, workdir / "bot", knowledge, **settings)
    try:
        wait_ready(fake, process, tuple(getattr(request.module, "BOT_COMMANDS", ("ask",))))
        yield process
    finally:
        process.terminate()


@pytest.fixture(scope="module")
def service(knowledge: Path) -> KnowledgeService:
    """The same core on the same knowledge, in the test process: what the bot should answer."""
    return warm_service(knowledge)


@pytest.fixture(autouse=True)
def _payloads_within_limits(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each e2e test: nothing the bot sent was rejected, and it used only known routes."""
    if "fake" not in request.fixturenames:
        yield
        return
    fake: FakeDiscord = request.getfixturevalue("fake")
    before = len(fake.violations)
    yield
    new = fake.violations[before:]
    assert new == [], "the fake rejected payloads:\n" + "\n".join(map(str, new))
    assert fake.unknown_routes == [], [r.summary() for r in fake.unknown_routes]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and "bot" in getattr(item, "fixturenames", ()):
        process = item.funcargs.get("bot") if hasattr(item, "funcargs") else None
        if isinstance(process, BotProcess):
            report.sections.append(("bot log (tail)", "\n".join(process.log().splitlines()[-80:])))


# -- users


@pytest.fixture(scope="module")
def _user_pool(fake: FakeDiscord) -> Iterator[FakeUser]:
    return iter([u for key, u in fake.world.users.items() if key.startswith("asker")])


@pytest.fixture
def new_user(_user_pool: Iterator[FakeUser]) -> Callable[[], FakeUser]:
    """A guild member nobody has used yet (so earlier tests' cooldowns don't apply)."""

    def take() -> FakeUser:
        try:
            return next(_user_pool)
        except StopIteration:
            raise AssertionError("out of fresh fake users; raise the count in add_users()") from None

    return take


