"""Synthetic demo data: members, lawyers, appeals with outcomes, conversations, FAQ events.

    python -m bot demo-data --members N --appeals M [--seed S] [--no-conversations] [--force]

Two years of activity up to `now`, all drawn with numpy from one seed (the same seed gives
the same data on SQLite and PostgreSQL) and written in batches with SQLAlchemy Core
executemany, so a million appeals take about a minute and memory stays flat. Appeals are
generated day by day in order, so their ids follow their creation time as in real life.

Demo people have negative Telegram ids (real ones are positive): that is how the tool
tells them apart, refuses to mix demo data into a database with real members (unless
forced) and reuses its own lawyers on a second run. No personal data is invented: names
and usernames of members stay empty, texts are short generic sentences (texts.yaml).

Most appeals come in writing or in person (an assumed mix, `CHANNEL_SHARES`): those look
as a lawyer's /log leaves them (bot/services/logged.py), each with a person row of its
own; the FAQ activity and the mailbox are drawn per appeal that came through the bot.

The parts: `parameters` (the shape of the union's activity), `days` (the two years, day
by day), `members`, `staff`, `appeals` (arrivals, lifecycle, the desk's clock),
`outcomes` (and ratings), `conversations`, `self_service` (FAQ events, the mailbox),
`writing` (bulk inserts), `fill` (`fill_demo`) and `command` (the command line).
"""

from bot.demo.command import demo_command
from bot.demo.fill import DemoRefused, DemoSummary, check_numbers, fill_demo

__all__ = ["DemoRefused", "DemoSummary", "check_numbers", "demo_command", "fill_demo"]
