"""docker-compose.yml starts what the README's "Scaling out" promises: one PostgreSQL, two shard processes."""

from __future__ import annotations

import yaml

from bot.config import load_settings
from tests.conftest import ROOT


def test_compose_runs_shards_0_and_1_of_2_over_one_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    bots = {name: s for name, s in services.items() if "PMBOT_SHARD_IDS" in s.get("environment", {})}
    environment = {
        name: {k: str(v).replace("${DISCORD_TOKEN:?set DISCORD_TOKEN to the bot token}", "token")
               .replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "secret").replace("${PMBOT_OWNER_IDS:-}", "")
               for k, v in s["environment"].items()}
        for name, s in bots.items()
    }
    settings = {name: load_settings(env, dotenv=None) for name, env in environment.items()}  # valid, as the bot reads them
    assert sorted(s.shard_ids for s in settings.values()) == [(0,), (1,)]
    assert {s.shard_count for s in settings.values()} == {2}
    assert {s.database_url for s in settings.values()} == {"postgresql://pmbot:secret@postgres:5432/pmbot"}
    for service in bots.values():
        assert "knowledge:/app/knowledge" in service["volumes"]  # one shared knowledge folder
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
