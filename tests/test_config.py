"""Settings: a missing or malformed BOT_TOKEN stops the bot with one clear line."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, secret_weakness, settings_error_line
from tests.processes import ROOT, python


def run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"BOT_TOKEN", "ADMIN_IDS"} and not k.startswith(("WEBHOOK_", "METRICS_"))
    }
    # In tmp_path: no .env file there.
    return python("-m", "bot", cwd=tmp_path, env={**clean, "PYTHONPATH": str(ROOT), **env})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "configuration error: BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": "123456:short"}, "BOT_TOKEN is malformed"),
    ],
)
def test_bad_token_gives_one_clear_line(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_other_settings_are_checked_and_named() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(
            bot_token="123456:TEST-token_abcdefghijklmnopqrstuvwxyz",
            admin_ids="1,x",
            timezone="Mars/Base",
        )
    line = settings_error_line(err.value)
    assert "ADMIN_IDS" in line and "TIMEZONE" in line and "\n" not in line


def test_defaults_and_parsing() -> None:
    settings = Settings(
        bot_token=" 123456:TEST-token_abcdefghijklmnopqrstuvwxyz ", admin_ids="5, 7"
    )
    assert settings.admin_ids == [5, 7]
    assert settings.timezone == "Asia/Almaty" and settings.log_level == "INFO"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.bot_token.get_secret_value() == "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
# Made once with secrets.token_urlsafe(32) and openssl rand -hex 32.
GOOD_SECRET = "Vh3q9Kx_LmT0pZr8WbN2cYd-Fg7sJe4uA1oQiRkXyE5"
GOOD_HEX = "3f9c0b7e1a5d2c8f4e6a9b0d7c3e1f5a8b2d4c6e0f9a7b3c5d1e8f2a4b6c0d9e"
HOOK = "https://bot.example.kz/tg"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"webhook_url": HOOK}, "WEBHOOK_SECRET must be set"),
        ({"webhook_url": HOOK, "webhook_secret": "short"}, "WEBHOOK_SECRET must be 32-256"),
        ({"webhook_url": "bot.example.kz/tg", "webhook_secret": GOOD_SECRET}, "WEBHOOK_URL must"),
        (
            {"webhook_url": HOOK, "webhook_secret": GOOD_SECRET, "webhook_listen": "localhost"},
            "WEBHOOK_LISTEN must be host:port",
        ),
        (
            {"webhook_url": HOOK, "webhook_secret": GOOD_SECRET, "metrics_listen": "9090"},
            "METRICS_LISTEN must be host:port",
        ),
        (
            {
                "webhook_url": HOOK,
                "webhook_secret": GOOD_SECRET,
                "webhook_listen": "0.0.0.0:8081",
                "metrics_listen": "127.0.0.1:8081",
            },
            "METRICS_LISTEN must be another address than WEBHOOK_LISTEN",
        ),
    ],
)
def test_webhook_settings_are_checked_at_start(extra: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(bot_token=TOKEN, **extra)  # type: ignore[arg-type]
    assert expected in settings_error_line(caught.value)


WEAK_SECRETS = {
    # what: (secret, the reason given)
    "the README's old example": ("change-me-to-32-random-characters", "looks like an example"),
    "a placeholder": ("your-webhook-key-goes-here-0123456789", "looks like an example"),
    "a placeholder in capitals": ("Qorgau_SECRET_2026_almaty_server_x9", "looks like an example"),
    "one character": ("x" * 40, "repeats itself"),
    "two characters": ("ab" * 20, "repeats itself"),
    "a repeated block of many characters": ("0123456789abcdef" * 3, "repeats itself"),
    "a repeated random-looking block": ("Vh3q9Kx_LmT0pZr8" * 2 + "Vh3q", "repeats itself"),
    "a run of neighbouring characters": (
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "is a run of neighbouring characters",
    ),
    "few distinct characters": (
        "a1c3b2a3c1b1a2c2b3c1a3b2a1b3c2a2b1c3",
        "has too few different characters",
    ),
    "32 hex characters (openssl rand -hex 16)": (
        "3f9c0b7e1a5d2c8f4e6a9b0d7c3e1f5a",
        "has too few different characters",
    ),
    "too short": ("Vh3q9Kx_LmT0pZr8WbN2cYd", "must be 32-256 characters long"),
    "not Telegram's characters": (
        "Vh3q9Kx LmT0pZr8WbN2cYd Fg7sJe4uA1oQiRk",
        "may hold only letters, digits, _ and -",
    ),
    "non-ASCII": ("Қорғау-" + GOOD_SECRET, "may hold only letters, digits, _ and -"),
}


@pytest.mark.parametrize(("secret", "reason"), WEAK_SECRETS.values(), ids=WEAK_SECRETS.keys())
def test_a_weak_webhook_secret_is_refused_in_one_line_that_says_how_to_make_one(
    secret: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(bot_token=TOKEN, webhook_url=HOOK, webhook_secret=secret)
    line = settings_error_line(caught.value)
    assert line.startswith(f"configuration error: WEBHOOK_SECRET {reason}"), line
    assert "secrets.token_urlsafe(32)" in line and "\n" not in line
    assert secret not in line  # the secret itself is never printed


@pytest.mark.parametrize("make", [secrets.token_urlsafe, secrets.token_hex])
def test_random_secrets_are_accepted(make: Callable[[int], str]) -> None:
    assert secret_weakness(GOOD_SECRET) is None and secret_weakness(GOOD_HEX) is None
    refused = [s for s in (make(32) for _ in range(2_000)) if secret_weakness(s)]
    assert refused == []


def test_webhook_settings_give_the_path_and_addresses() -> None:
    settings = Settings(
        bot_token=TOKEN,
        webhook_url="https://bot.example.kz/tg/8f3c2a",
        webhook_secret=GOOD_SECRET,
        webhook_listen="127.0.0.1:8081",
        metrics_listen="127.0.0.1:9091",
    )
    assert settings.webhook_path == "/tg/8f3c2a"
    assert settings.listen_address() == ("127.0.0.1", 8081)
    assert settings.metrics_address() == ("127.0.0.1", 9091)
    # By default both stay on loopback: the proxy in front publishes the webhook path only.
    defaults = Settings(bot_token=TOKEN, webhook_url=HOOK, webhook_secret=GOOD_SECRET)
    assert defaults.listen_address() == ("127.0.0.1", 8080)
    assert defaults.metrics_address() == ("127.0.0.1", 9090)


def test_a_weak_secret_stops_the_start_with_one_line(tmp_path: Path) -> None:
    secret = "change-me-to-32-random-characters"
    env = {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": HOOK, "WEBHOOK_SECRET": secret}
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("configuration error: WEBHOOK_SECRET looks like an example")
    assert "secrets.token_urlsafe(32)" in lines[0] and secret not in lines[0]
