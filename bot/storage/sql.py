"""The one place for SQL that differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, literal_column, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):
    """Seconds from the second timestamp to the first: ``later - earlier``."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
    )


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # julianday() is a double: round to the millisecond, or 3 h comes out as 10799.99 s.
    return (
        f"ROUND((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0, 3)"
    )


class whole_units(FunctionElement[int]):
    """``floor(value / unit)`` as an integer, for non-negative values (histogram buckets)."""

    type = Integer()
    inherit_cache = True
    name = "whole_units"

    def __init__(self, value: Any, unit: float) -> None:
        super().__init__(value, literal_column(repr(float(unit))))


@compiles(whole_units)
def _units_default(element: whole_units, compiler: SQLCompiler, **kw: Any) -> str:
    value, unit = list(element.clauses)
    inner = f"({compiler.process(value, **kw)}) / {compiler.process(unit, **kw)}"
    return f"CAST(FLOOR({inner}) AS INTEGER)"


@compiles(whole_units, "sqlite")
def _units_sqlite(element: whole_units, compiler: SQLCompiler, **kw: Any) -> str:
    # CAST truncates towards zero in SQLite: floor for the non-negative values used here.
    value, unit = list(element.clauses)
    return f"CAST(({compiler.process(value, **kw)}) / {compiler.process(unit, **kw)} AS INTEGER)"


def upsert_adding(dialect: Any, model: Any, measures: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (primary key) DO UPDATE adding each measure to the stored one."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = model.__table__
    make = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = make(table)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in measures},
    )


async def lock_table(session: AsyncSession, model: Any) -> None:
    """Hold off other writers of a table until this transaction ends. SQLite has one
    writer at a time anyway; PostgreSQL needs an explicit lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"LOCK TABLE {model.__tablename__} IN EXCLUSIVE MODE"))
