"""Qorgau: the union's Telegram bot."""

from bot.lean_types import defer_aiogram_model_builds

defer_aiogram_model_builds()
