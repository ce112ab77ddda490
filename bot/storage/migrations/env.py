"""Alembic environment. Migrations run on a connection handed in by bot.storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.migrate import is_modelled
from bot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=is_modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `python -m bot db upgrade`")
run_migrations(connection)
