"""Settings for scaling out: which database, which shards; mistakes are named, passwords never shown."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.databases import store_from_settings
from bot.postgres_store import PostgresStore
from bot.store import SqliteStore


def test_shards_and_postgresql_are_read() -> None:
    settings = load_settings({"PMBOT_SHARD_COUNT": "4", "PMBOT_SHARD_IDS": "3, 2", "PMBOT_DATABASE_URL":
                              "postgresql://pmbot:pw@db:5432/pmbot"}, dotenv=None)
    assert (settings.shard_count, settings.shard_ids) == (4, (2, 3))
    assert isinstance(store_from_settings(settings), PostgresStore)


def test_without_them_one_process_runs_the_recommended_shards_on_sqlite() -> None:
    settings = load_settings({}, dotenv=None)
    assert (settings.shard_count, settings.shard_ids, settings.database_url) == (None, None, None)
    assert isinstance(store_from_settings(settings), SqliteStore)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PMBOT_SHARD_IDS": "0"}, "PMBOT_SHARD_COUNT is not"),
        ({"PMBOT_SHARD_COUNT": "2", "PMBOT_SHARD_IDS": "1,2"}, "shards are numbered 0 to 1"),
        ({"PMBOT_SHARD_COUNT": "0"}, "PMBOT_SHARD_COUNT='0'"),
        ({"PMBOT_SHARD_COUNT": "2", "PMBOT_SHARD_IDS": "-1"}, "PMBOT_SHARD_IDS='-1'"),
        ({"PMBOT_DATABASE_URL": "mysql://pmbot:hunter2@db/pmbot"}, "mysql://pmbot:***@db/pmbot"),
    ],
)
def test_mistakes_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv=None)
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)
