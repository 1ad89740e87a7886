"""The settings for many servers: owners, the home server, retention and the Message Content switch."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


def test_defaults() -> None:
    settings = load_settings({}, dotenv=None)
    assert settings.owner_ids == frozenset() and settings.home_guild_id is None
    assert settings.retention_days == 90 and settings.message_content is True
    assert settings.help_channel_suggestions is True and settings.help_channel_threads is False
    assert settings.weekly_digest is False


def test_values_are_read() -> None:
    settings = load_settings(
        {"PMBOT_OWNER_IDS": "11, 12", "PMBOT_HOME_GUILD": "13", "PMBOT_RETENTION_DAYS": "30", "PMBOT_MESSAGE_CONTENT": "false",
         "PMBOT_HELP_CHANNEL_SUGGESTIONS": "false", "PMBOT_HELP_CHANNEL_THREADS": "true", "PMBOT_WEEKLY_DIGEST": "true"},
        dotenv=None,
    )
    assert (settings.owner_ids, settings.home_guild_id, settings.retention_days, settings.message_content,
            settings.help_channel_suggestions, settings.help_channel_threads, settings.weekly_digest) == (
        frozenset({11, 12}), 13, 30, False, False, True, True)


def test_bad_values_are_all_named() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"PMBOT_OWNER_IDS": "me", "PMBOT_HOME_GUILD": "-1", "PMBOT_RETENTION_DAYS": "0",
                       "PMBOT_MESSAGE_CONTENT": "maybe", "PMBOT_HELP_CHANNEL_SUGGESTIONS": "sometimes",
                       "PMBOT_HELP_CHANNEL_THREADS": "yes please", "PMBOT_WEEKLY_DIGEST": "weekly"}, dotenv=None)
    for name in ("PMBOT_OWNER_IDS", "PMBOT_HOME_GUILD", "PMBOT_RETENTION_DAYS", "PMBOT_MESSAGE_CONTENT",
                 "PMBOT_HELP_CHANNEL_SUGGESTIONS", "PMBOT_HELP_CHANNEL_THREADS", "PMBOT_WEEKLY_DIGEST"):
        assert name in str(error.value)
