"""The tests import `bot` before aiogram, as `python -m bot` does, so they run with the
Telegram types built on first use (bot/compat/lean_types.py), like production."""

import bot  # noqa: F401
