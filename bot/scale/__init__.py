"""Running as several instances: webhook, Redis, one scheduler, shared pace, metrics.

Embedded mode (one process, long polling, SQLite) uses only `lease` (harmless there: it
is always this process). Scaled mode (WEBHOOK_URL, REDIS_URL, PostgreSQL) uses all of it.
"""
