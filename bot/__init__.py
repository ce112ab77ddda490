"""Qorgau: the union's Telegram bot."""

from bot.compat import start

start()
