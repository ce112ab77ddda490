"""The fake Telegram Bot API server (tests/fake_api/), as tests import it and as a command:

    python tests/fake_bot_api.py [--host 127.0.0.1] [--port 8081]

prints its base URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the repository's root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_api import (
    BOT_USER,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    NOT_MODIFIED,
    Call,
    FakeBotAPI,
    Fault,
    JSONDict,
    ParsedText,
    StoredMessage,
    TelegramError,
    UploadedFile,
    bad_request,
    buttons,
    parse_text,
)

__all__ = [
    "BOT_USER",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
    "NOT_MODIFIED",
    "Call",
    "FakeBotAPI",
    "Fault",
    "JSONDict",
    "ParsedText",
    "StoredMessage",
    "TelegramError",
    "UploadedFile",
    "bad_request",
    "buttons",
    "main",
    "parse_text",
]


async def _serve(host: str, port: int) -> None:
    api = FakeBotAPI()
    await api.start(host, port)
    print(api.base_url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
