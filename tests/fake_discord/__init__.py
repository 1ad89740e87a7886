"""Fake Discord (REST + gateway) for end-to-end tests of the bot with real discord.py.

Usage::

    fake = FakeDiscord().start()
    # bot process: discord.http.Route.BASE = fake.api_base
    #              discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    fake.wait_until_connected()
    fake.send_message("general", "hi", mentions_bot=True)
    reply = fake.wait_for_message("general")
    assert fake.violations == []
    fake.stop()
"""

from .fake import FakeDiscord, InteractionHandle
from .limits import LimitError
from .models import FakeAttachment, FakeChannel, FakeRole, FakeUser
from .records import RecordedRequest, UploadedFile, Violation

__all__ = [
    "FakeAttachment",
    "FakeChannel",
    "FakeDiscord",
    "FakeRole",
    "FakeUser",
    "InteractionHandle",
    "LimitError",
    "RecordedRequest",
    "UploadedFile",
    "Violation",
]
