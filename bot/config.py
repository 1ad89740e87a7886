"""Settings from the environment and an optional .env file, checked at start.

A typo in a channel id should stop the bot with a message that names the
variable, not surface hours later as a bot that silently ignores a channel.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

if TYPE_CHECKING:
    from bot.matching.cache import IndexCache

# The knowledge pmbot ships with: in a checkout bot/bundled_knowledge is a link to the top-level knowledge/
# folder, and an installed package (pip install .) holds a copy of it there.
BUNDLED_KNOWLEDGE = (Path(__file__).parent / "bundled_knowledge").resolve()
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")


class ConfigError(Exception):
    """One or more settings are wrong; the message lists each with how to fix it."""


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = None
    knowledge_path: Path = BUNDLED_KNOWLEDGE
    listen_channel_ids: frozenset[int] = frozenset()
    moderator_role_ids: frozenset[int] = frozenset()
    dev_guild_id: int | None = None
    cooldown_rate: int = 5
    cooldown_seconds: float = 60.0
    log_level: str = "INFO"
    api_base: str = DEFAULT_API_BASE
    gateway_url: str = DEFAULT_GATEWAY_URL
    database_path: Path = Path("data/pmbot.sqlite3")
    store_user_ids: bool = False
    auto_reload: bool = True
    auto_reload_delay: float = 1.0
    mod_log_channel_id: int | None = None
    knowledge_backups: int = 5
    upload_max_bytes: int = 256_000
    owner_ids: frozenset[int] = frozenset()
    home_guild_id: int | None = None
    retention_days: int = 90
    message_content: bool = True
    help_channel_suggestions: bool = True
    help_channel_threads: bool = False
    weekly_digest: bool = False
    database_url: str | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    cache_dir: Path | None = None  # where built indexes are kept between starts; None: rebuilt every time
    readonly_cache_dir: Path | None = None  # a cache filled beforehand (`pmbot warm-cache`), read, never written
    embedding_model: Path | None = None  # a folder with model.onnx + tokenizer.json; None: the bundled MiniLM

    def index_cache(self) -> IndexCache:
        from bot.matching.cache import IndexCache  # here, so that reading settings never imports the matching package

        return IndexCache(self.cache_dir, self.readonly_cache_dir)


def redact_url(url: str) -> str:
    """The URL without its password, for logs and messages (a database URL carries one)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments and optional quotes. Enough for a bot's secrets file."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Builds Settings from the environment (which wins) and .env; raises ConfigError listing every problem."""
    env = {**(read_dotenv(dotenv) if dotenv else {}), **(os.environ if environ is None else environ)}
    problems: list[str] = []

    def get(name: str, parse: Callable[[str], T], default: T, hint: str) -> T:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError:
            problems.append(f"{name}={redact_url(raw)!r}: {hint}")
            return default

    def ids(raw: str) -> frozenset[int]:
        return frozenset(_snowflake(part) for part in raw.replace(";", ",").split(",") if part.strip())

    def level(raw: str) -> str:
        if raw.upper() not in LOG_LEVELS:
            raise ValueError
        return raw.upper()

    def url(*schemes: str) -> Callable[[str], str]:
        def parse(raw: str) -> str:
            if not raw.startswith(schemes):
                raise ValueError
            return raw.rstrip("/") if schemes[0].startswith("http") else raw
        return parse

    settings = Settings(
        discord_token=env.get("DISCORD_TOKEN", "").strip() or None,
        knowledge_path=get("PMBOT_KNOWLEDGE", Path, BUNDLED_KNOWLEDGE, "a folder of knowledge YAML"),
        listen_channel_ids=get("PMBOT_LISTEN_CHANNELS", ids, frozenset(), "comma-separated channel ids"),
        moderator_role_ids=get("PMBOT_MODERATOR_ROLES", ids, frozenset(), "comma-separated role ids"),
        dev_guild_id=get("PMBOT_DEV_GUILD", _snowflake, None, "a server (guild) id"),
        cooldown_rate=get("PMBOT_COOLDOWN_RATE", _positive_int, 5, "questions allowed per period, a whole number ≥ 1"),
        cooldown_seconds=get("PMBOT_COOLDOWN_SECONDS", _positive_float, 60.0, "the period in seconds, > 0"),
        log_level=get("PMBOT_LOG_LEVEL", level, "INFO", f"one of {', '.join(LOG_LEVELS)}"),
        api_base=get("DISCORD_API_BASE", url("http://", "https://"), DEFAULT_API_BASE, "an http(s) URL ending in /api/v10"),
        gateway_url=get("DISCORD_GATEWAY_URL", url("ws://", "wss://"), DEFAULT_GATEWAY_URL, "a ws:// or wss:// URL"),
        database_path=get("PMBOT_DATABASE", Path, Path("data/pmbot.sqlite3"), "a file path"),
        store_user_ids=get("PMBOT_STORE_USER_IDS", _flag, False, "true or false"),
        auto_reload=get("PMBOT_AUTO_RELOAD", _flag, True, "true or false"),
        auto_reload_delay=get("PMBOT_AUTO_RELOAD_DELAY", _positive_float, 1.0, "seconds to wait for edits to settle, > 0"),
        mod_log_channel_id=get("PMBOT_MOD_LOG_CHANNEL", _snowflake, None, "a channel id"),
        knowledge_backups=get("PMBOT_KNOWLEDGE_BACKUPS", _positive_int, 5, "how many previous versions to keep, ≥ 1"),
        upload_max_bytes=get("PMBOT_UPLOAD_MAX_BYTES", _positive_int, 256_000, "a size in bytes, ≥ 1"),
        owner_ids=get("PMBOT_OWNER_IDS", ids, frozenset(), "comma-separated user ids"),
        home_guild_id=get("PMBOT_HOME_GUILD", _snowflake, None, "a server (guild) id"),
        retention_days=get("PMBOT_RETENTION_DAYS", _positive_int, 90, "days to keep questions and votes, a whole number ≥ 1"),
        message_content=get("PMBOT_MESSAGE_CONTENT", _flag, True, "true or false"),
        help_channel_suggestions=get("PMBOT_HELP_CHANNEL_SUGGESTIONS", _flag, True, "true or false"),
        help_channel_threads=get("PMBOT_HELP_CHANNEL_THREADS", _flag, False, "true or false"),
        weekly_digest=get("PMBOT_WEEKLY_DIGEST", _flag, False, "true or false"),
        database_url=get("PMBOT_DATABASE_URL", url("postgresql://", "postgres://"), None,
                         "a PostgreSQL URL, postgresql://USER:PASSWORD@HOST:PORT/DATABASE"),
        shard_count=get("PMBOT_SHARD_COUNT", _positive_int, None, "how many shards the whole bot runs, ≥ 1"),
        shard_ids=get("PMBOT_SHARD_IDS", _shard_ids, None, "comma-separated shard numbers, e.g. 0,1"),
        health_port=get("PMBOT_HEALTH_PORT", _port, None, "a TCP port, 1-65535 (0: any free port)"),
        health_host=env.get("PMBOT_HEALTH_HOST", "").strip() or "127.0.0.1",
        cache_dir=get("PMBOT_CACHE_DIR", _path, default_cache_dir(env), "a folder for the index cache"),
        readonly_cache_dir=get("PMBOT_READONLY_CACHE_DIR", _folder, None,
                               "an existing folder that `pmbot warm-cache` filled (PMBOT_CACHE_DIR=that folder pmbot warm-cache)"),
        embedding_model=get("PMBOT_EMBEDDING_MODEL", _model_folder, None, "a folder holding model.onnx and tokenizer.json"),
    )
    problems.extend(_shard_problems(settings))
    if problems:
        raise ConfigError("Configuration problems (set these in the environment or .env):\n  " + "\n  ".join(problems))
    return settings


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """$XDG_CACHE_HOME/pmbot, else ~/.cache/pmbot: where the XDG convention puts data that can be rebuilt."""
    if xdg := env.get("XDG_CACHE_HOME", "").strip():
        return Path(xdg).expanduser() / "pmbot"
    return Path.home() / ".cache" / "pmbot"


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _shard_ids(raw: str) -> tuple[int, ...]:
    ids = tuple(sorted({int(part) for part in raw.replace(";", ",").split(",") if part.strip()}))
    if not ids or ids[0] < 0:
        raise ValueError
    return ids


def _shard_problems(settings: Settings) -> list[str]:
    """Shard ids only mean something with the total count, and must be below it."""
    if settings.shard_ids is None:
        return []
    if settings.shard_count is None:
        return ["PMBOT_SHARD_IDS is set but PMBOT_SHARD_COUNT is not: set the total number of shards across all processes"]
    too_big = [i for i in settings.shard_ids if i >= settings.shard_count]
    if too_big:
        return [f"PMBOT_SHARD_IDS has {', '.join(map(str, too_big))}, but shards are numbered 0 to "
                f"{settings.shard_count - 1} (PMBOT_SHARD_COUNT={settings.shard_count})"]
    return []


def _folder(raw: str) -> Path:
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        raise ValueError
    return folder


def _model_folder(raw: str) -> Path:
    folder = Path(raw).expanduser()
    if not ((folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()):
        raise ValueError
    return folder


def _snowflake(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:  # float() also reads "nan" and "inf"
        raise ValueError
    return value


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError
