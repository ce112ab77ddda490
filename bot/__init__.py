"""Qorgau: the union's Telegram bot."""
