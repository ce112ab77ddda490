"""The tests switch bot/compat/'s patches on before anything imports aiogram, as
`python -m bot` does, so they run with the Telegram types built on first use, like
production."""

from bot import compat

compat.start()
