"""Discord's hard limits, in one place.

Discord rejects a whole message (HTTP 400) when any part is over a limit, so
every reply is fitted to these numbers before it leaves the core, and the
validator refuses knowledge that could not be shown at all.
"""

from __future__ import annotations

EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_TOTAL = 6000
MESSAGE_CONTENT = 2000
BUTTON_LABEL = 80
BUTTONS_PER_ROW = 5
ACTION_ROWS = 5
CUSTOM_ID = 100
SELECT_OPTIONS = 25
SELECT_OPTION_TEXT = 100
SELECT_PLACEHOLDER = 150
AUTOCOMPLETE_CHOICES = 25
AUTOCOMPLETE_NAME = 100


def clip(text: str, limit: int) -> str:
    """Cuts text to a limit, marking the cut so a reader knows something is missing."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"
