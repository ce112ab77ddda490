"""Settings: a missing or malformed BOT_TOKEN stops the bot with one clear line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, settings_error_line
from tests.processes import ROOT, python


def run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "ADMIN_IDS"}}
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


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"webhook_url": "https://bot.example.kz/tg"}, "WEBHOOK_SECRET must be set"),
        (
            {"webhook_url": "https://bot.example.kz/tg", "webhook_secret": "short"},
            "WEBHOOK_SECRET must be set",
        ),
        ({"webhook_url": "bot.example.kz/tg", "webhook_secret": "x" * 20}, "WEBHOOK_URL must"),
        (
            {
                "webhook_url": "https://bot.example.kz/tg",
                "webhook_secret": "x" * 20,
                "webhook_listen": "localhost",
            },
            "WEBHOOK_LISTEN must be host:port",
        ),
    ],
)
def test_webhook_settings_are_checked_at_start(extra: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(bot_token=TOKEN, **extra)  # type: ignore[arg-type]
    assert expected in settings_error_line(caught.value)


def test_webhook_settings_give_the_path_and_address() -> None:
    settings = Settings(
        bot_token=TOKEN,
        webhook_url="https://bot.example.kz/tg/8f3c2a",
        webhook_secret="x" * 20,
        webhook_listen="127.0.0.1:8081",
    )
    assert settings.webhook_path == "/tg/8f3c2a"
    assert settings.listen_address() == ("127.0.0.1", 8081)
