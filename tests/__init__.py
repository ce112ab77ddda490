"""The tests switch bot/compat/'s patches on before anything imports aiogram, as
`python -m bot` does, so they run with the Telegram types built on first use, like
production.

Bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set (as on the CI
machine): the suite starts three workers and dozens of bot processes, and without the
caches each of them compiles the tests (with pytest's assertion rewriting) and the bot
from source again, about five seconds of CPU apiece."""

import os
import sys

sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from bot import compat  # noqa: E402

compat.start()
