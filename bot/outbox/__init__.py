"""The outbox: every message the bot sends to someone on another person's behalf or unasked.

A message is stored (`bot.storage.outbox.add`) in the same transaction as what caused it (a lawyer's
answer, a claim, a closing, the desk clock's marks), so a crash can never keep the cause
and lose the message. The handler then makes the first attempt itself (`Outbox.deliver`),
so the writer learns at once whether it arrived; whatever is left (Telegram busy, the
network down, the process killed) is sent by the sender running in every bot process
(`Outbox.run`), in order per chat, honouring 429 `retry_after` and retrying 5xx and network
errors with backoff. A message is marked "sending" before each try, so two tries never
overlap; the only message that can arrive twice is one whose process died between
Telegram's answer and the mark (docs/deploy.md, "What a crash can cost").
"""

from bot.outbox.sender import Delivery, Outbox, OutboxSettings, letter

__all__ = ["Delivery", "Outbox", "OutboxSettings", "letter"]
