"""Settings from the environment (and an optional .env file): the README's Configuration."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_RE = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{20,}$")
DEFAULT_DB = "sqlite+aiosqlite:///data/qorgau.db"

# WEBHOOK_SECRET is all that stands between the internet and the bot's updates: anyone who
# knows it can post updates as any member. Telegram allows 1-256 of these characters.
SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]+")
SECRET_MIN_LENGTH = 32
SECRET_MAX_LENGTH = 256
# Words of the examples people copy instead of making a secret (the README's own example
# among them). Five characters or more, so that a random secret holds one by chance about
# once in a million.
PLACEHOLDER_WORDS = (
    "change",
    "example",
    "secret",
    "password",
    "passwd",
    "placeholder",
    "random",
    "your-",
    "your_",
    "sample",
    "replace",
    "default",
    "qwerty",
)
# Shannon entropy of the characters times the length: an estimate that random secrets pass
# with room to spare (lowest of 200,000 each: secrets.token_urlsafe(32) 179 bits, openssl
# rand -hex 32 211) and strings with few distinct characters do not. 32 hex characters
# (openssl rand -hex 16) cannot reach it: at most 4 bits a character.
SECRET_MIN_BITS = 128.0
MAKE_A_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


class ToolSettings(BaseSettings):
    """What the command-line tools (stats, demo-data, db) need: no bot token."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DB
    timezone: str = "Asia/Almaty"
    faq_dir: Path = Path(__file__).parent / "faq" / "content"
    member_orgs_file: Path = Path(__file__).parent / "data" / "member_orgs.yaml"
    # `db backup DIRECTORY` keeps this many dated copies of the database there.
    backup_keep: int = Field(default=7, ge=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"TIMEZONE {value!r} is not a known time zone") from None
        return value


class Settings(ToolSettings):
    bot_token: SecretStr
    telegram_api_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    redis_url: str | None = None
    redis_prefix: str = "qorgau"  # keys and channels of this bot in a shared Redis
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Behind the proxy, on loopback; 0.0.0.0 only when Telegram reaches the instance directly.
    webhook_listen: str = "127.0.0.1:8080"
    # Prometheus's /metrics on an address of its own: never beside the public webhook path.
    metrics_listen: str = "127.0.0.1:9090"
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # Flood control: more than FLOOD_LIMIT updates in FLOOD_WINDOW_SECONDS from one person →
    # their updates are not handled for FLOOD_BLOCK_SECONDS (one polite notice).
    flood_limit: int = Field(default=20, ge=1)
    flood_window_seconds: float = Field(default=10.0, gt=0)
    flood_block_seconds: float = Field(default=60.0, gt=0)
    # Scaled mode: one scheduler among the instances; a dead holder's lease runs out first.
    scheduler_lease_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"
    sla_first_answer_days: float = Field(default=2.0, gt=0)
    sla_idle_claim_days: float = Field(default=5.0, gt=0)
    desk_job_minutes: float = Field(default=5.0, gt=0)
    holidays_file: Path = Path(__file__).parent / "data" / "holidays.yaml"
    # Broadcasts: messages a second for the whole bot (Telegram allows about 30 free; up to
    # 1,000 with paid broadcasts, which BROADCAST_PAID turns on: allow_paid_broadcast).
    broadcast_rate: float = Field(default=25.0, gt=0, le=1000)
    broadcast_paid: bool = False
    broadcast_lease_seconds: float = Field(default=30.0, gt=0)  # a dead sender's post waits this
    posts_tick_seconds: float = Field(default=10.0, gt=0)  # how often due posts are looked for
    # Appeal and message texts and file ids are removed this long after an appeal closed
    # (or after the last activity of one never closed); mailbox texts this long after sent.
    appeal_text_retention_months: int = Field(default=36, gt=0)
    # Conversations (FSM state: half-written appeals, letters, posts) untouched this long are
    # deleted; in Redis (scaled mode) their keys expire after it.
    fsm_ttl_days: int = Field(default=30, gt=0)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("BOT_TOKEN is malformed: expected <digits>:<secret> from @BotFather")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("ADMIN_IDS must be comma-separated Telegram user ids") from None
        if isinstance(value, int):
            return [value]
        return value

    @model_validator(mode="after")
    def _free_rate(self) -> Settings:
        if self.broadcast_rate > 30 and not self.broadcast_paid:
            raise ValueError("BROADCAST_RATE above 30 needs BROADCAST_PAID=true (paid broadcasts)")
        return self

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        if self.webhook_url is None:
            return self
        from urllib.parse import urlsplit

        parts = urlsplit(self.webhook_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("WEBHOOK_URL must be a full URL, e.g. https://bot.example.kz/tg")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        weakness = secret_weakness(secret)
        if weakness:
            raise ValueError(
                f"WEBHOOK_SECRET {weakness}: use {SECRET_MIN_LENGTH} or more random letters, "
                f"digits, _ or -, e.g. the output of {MAKE_A_SECRET}"
            )
        webhook, metrics = self.listen_address(), self.metrics_address()  # checked at start
        if webhook[1] == metrics[1] and (
            webhook[0] == metrics[0] or {webhook[0], metrics[0]} & {"0.0.0.0", "::"}
        ):
            raise ValueError("METRICS_LISTEN must be another address than WEBHOOK_LISTEN")
        return self

    def listen_address(self) -> tuple[str, int]:
        return _address(self.webhook_listen, "WEBHOOK_LISTEN", "127.0.0.1:8081")

    def metrics_address(self) -> tuple[str, int]:
        return _address(self.metrics_listen, "METRICS_LISTEN", "127.0.0.1:9091")

    @property
    def webhook_path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.webhook_url or "").path or "/"

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value


def _address(value: str, name: str, example: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{name} must be host:port, e.g. {example}")
    return host or "0.0.0.0", int(port)


def secret_weakness(secret: str) -> str | None:
    """Why a webhook secret is too weak to use (never quoting it), or None."""
    if not secret:
        return "must be set with WEBHOOK_URL"
    if not SECRET_CHARS.fullmatch(secret):
        return "may hold only letters, digits, _ and -"
    if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        return f"must be {SECRET_MIN_LENGTH}-{SECRET_MAX_LENGTH} characters long"
    lowered = secret.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "looks like an example or a placeholder, not a secret"
    if _repeats(secret):
        return "repeats itself"
    if _steps_predictable(secret):
        return "is a run of neighbouring characters"
    if _entropy_bits(secret) < SECRET_MIN_BITS:
        return "has too few different characters"
    return None


def _repeats(secret: str) -> bool:
    """The secret is a shorter string written out at least twice ("abcabcabc…")."""
    n = len(secret)
    return any(
        all(secret[i] == secret[i + period] for i in range(n - period))
        for period in range(1, n // 2 + 1)
    )


def _steps_predictable(secret: str) -> bool:
    """More than half the steps go to the same, the next or the previous character
    ("abcdef…", "aaab…"); random secrets have about 5 % (hex: 19 %)."""
    steps = [abs(ord(b) - ord(a)) <= 1 for a, b in itertools.pairwise(secret)]
    return sum(steps) * 2 > len(steps)


def _entropy_bits(secret: str) -> float:
    counts = Counter(secret)
    n = len(secret)
    per_character = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_character * n


def settings_error_line(exc: Exception) -> str:
    """One clear line naming the variable that is wrong."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else ""
            if err["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                # A check of several settings (no loc) names them in its message.
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(msg if name in msg else f"{name}: {msg}")
        return "configuration error: " + "; ".join(problems)
    return f"configuration error: {exc}"
