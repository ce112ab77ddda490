"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.storage.migrate import is_modelled, upgrade
from bot.storage.models import Base
from tests.databases import KINDS, database


@pytest.mark.parametrize("kind", KINDS)
async def test_migrations_match_the_models(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path, empty=True) as engine:
        await upgrade(engine)

        def diff(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(
                sync_conn, opts={"compare_type": True, "include_name": is_modelled}
            )
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
    assert differences == []
