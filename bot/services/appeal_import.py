"""A region's paper register of appeals, from the years before the bot, brought into the
appeal log from a CSV file (`python -m bot appeals import FILE.csv`), so that the report
counts every appeal the union handled, not only the bot's share.

The file: UTF-8, with or without a byte order mark (Excel's "CSV UTF-8"), separated by
semicolons or commas (whichever the header line uses), one appeal per line after a header
line naming the columns (`COLUMNS`, in any order; the optional ones may be left out).
`read_register` checks every line and lists every problem with its line number; a file
with any problem is refused as a whole. `import_register` stores the appeals, closed, in
the caller's transaction, through the ORM (so the report's running tally counts them:
bot/report/tally.py), each with a person row of its own (bot/services/logged.py), and
remembers the file's digest in `bot_setting`: the same file is refused the second time,
naming the first import.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.report.period import PeriodError, parse_local_day
from bot.services.logged import IMPORTED_CHANNELS, MAX_NAME, add_people, date_problem, received_at
from bot.services.outcomes import MAX_AMOUNT, MAX_COUNT, Outcome
from bot.services.staff import audit
from bot.storage.models import (
    Appeal,
    AppealSource,
    AppealStatus,
    BotSetting,
    WorkplaceType,
    utcnow,
)
from bot.topics import TOPICS

# The columns, in the order a template lists them, with what each holds.
COLUMNS: dict[str, str] = {
    "received": "date received: 31.12.2019 or 2019-12-31 (required)",
    "org": "member organisation id, e.g. karaganda (required)",
    "channel": "written, oral or electronic (required)",
    "topic": "topic id, e.g. pay (required)",
    "workplace": "school, kindergarten, college, university, research, other; empty: unknown",
    "consultation": "a free consultation given: 1 or 0",
    "justified": "found justified: 1 or 0; empty: not assessed",
    "conciliation": "help in a conciliation commission: 1 or 0",
    "court": "help in court: 1 or 0",
    "court_won": "the court claim was won: 1 or 0; empty: not known (only with court)",
    "mediation": "a mediation agreement: 1 or 0",
    "reinstated": "reinstated at work: 1 or 0",
    "inspection": "an inspection of the employer: 1 or 0",
    "outside_competence": "outside the union's competence: 1 or 0",
    "violations_found": "violations found: a whole number; empty: 0",
    "violations_remedied": "violations remedied: a whole number, at most those found",
    "money_returned_kzt": "money returned to the member, tenge: a whole number",
    "economic_effect_kzt": "economic effect, tenge: a whole number",
    "closed": "date closed, not before the date received (required)",
    "name": f"the person's name (optional, up to {MAX_NAME} characters)",
}
REQUIRED = ("received", "org", "channel", "topic", "closed")
FLAGS = (
    "consultation",
    "conciliation",
    "court",
    "mediation",
    "reinstated",
    "inspection",
    "outside_competence",
)
TRISTATE = ("justified", "court_won")
NUMBERS = {
    "violations_found": MAX_COUNT,
    "violations_remedied": MAX_COUNT,
    "money_returned_kzt": MAX_AMOUNT,
    "economic_effect_kzt": MAX_AMOUNT,
}
YES = {"1", "yes", "y", "true", "да", "д", "иә", "иа", "ия", "+", "x", "✓"}
NO = {"0", "no", "n", "false", "нет", "н", "жоқ", "жок", "-"}
SETTING = "appeals-import:"  # + the file's digest: bot_setting's key (64 characters)
CHUNK = 2000  # appeals flushed at a time (one transaction for the whole file)
OUTCOME_PROBLEMS = {
    "court-won-without-court": "court_won is given but court is not 1",
    "violations": "violations_remedied is more than violations_found",
    "money": f"money_returned_kzt is more than {MAX_AMOUNT}",
    "economic-effect": f"economic_effect_kzt is more than {MAX_AMOUNT}",
}


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file as a whole
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True)
class RegisterRow:
    line: int
    received: date
    closed: date
    org: str
    channel: str
    topic: str
    workplace: WorkplaceType | None
    outcome: Outcome
    name: str | None


@dataclass
class Register:
    digest: str  # SHA-256 of the text (byte order mark and line endings aside)
    rows: list[RegisterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """'80 written, 35 oral, 5 electronic, received 09.01.2019 to 28.12.2023'."""
        channels = Counter(row.channel for row in self.rows)
        parts = [f"{channels[c]} {c}" for c in IMPORTED_CHANNELS if channels[c]]
        first = min(row.received for row in self.rows)
        last = max(row.received for row in self.rows)
        return f"{', '.join(parts)}, received {first:%d.%m.%Y} to {last:%d.%m.%Y}"


class ImportRefused(Exception):
    """The same file was imported before: `earlier` says when and how many."""

    def __init__(self, earlier: str) -> None:
        super().__init__(earlier)
        self.earlier = earlier


def digest_of(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").replace("\r", "\n").encode()).hexdigest()


def read_register(data: bytes, *, orgs: set[str] | frozenset[str], today: date) -> Register:
    """Every row of the file checked; `problems` lists each bad one (empty: all good)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Register(
            hashlib.sha256(data).hexdigest(),
            problems=[
                Problem(
                    data.count(b"\n", 0, exc.start) + 1,
                    "not UTF-8 text: save the file as “CSV UTF-8”",
                )
            ],
        )
    register = Register(digest_of(text))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                register.problems += _header_problems(header, line)
                if register.problems:
                    return register
                continue
            if len(cells) != len(header):
                register.problems.append(
                    Problem(line, f"{len(cells)} fields, the header line has {len(header)}")
                )
                continue
            row, reasons = _row(line, dict(zip(header, cells, strict=True)), orgs, today)
            if reasons:
                register.problems.append(Problem(line, "; ".join(reasons)))
            elif row is not None:
                register.rows.append(row)
    except csv.Error as exc:
        register.problems.append(Problem(reader.line_num, f"not readable as CSV: {exc}"))
    if header is None:
        register.problems.append(Problem(0, "the file is empty: no header line"))
    elif not register.rows and not register.problems:
        register.problems.append(Problem(0, "no appeals after the header line"))
    return register


def _header_problems(header: list[str], line: int) -> list[Problem]:
    problems = []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            Problem(
                line,
                f"unknown column(s) {', '.join(repr(u) for u in unknown)}; "
                f"the columns are {', '.join(COLUMNS)}",
            )
        )
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        problems.append(Problem(line, f"column(s) given twice: {', '.join(twice)}"))
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        problems.append(Problem(line, f"required column(s) missing: {', '.join(missing)}"))
    return problems


def _row(
    line: int, cells: dict[str, str], orgs: set[str] | frozenset[str], today: date
) -> tuple[RegisterRow | None, list[str]]:
    reasons: list[str] = []

    def value(name: str) -> str:
        return cells.get(name, "").strip()

    def choice(name: str, allowed: Any, what: str) -> str:
        raw = value(name).lower()
        if raw not in allowed:
            reasons.append(f"{name} {raw!r} is not {what}" if raw else f"{name} is empty")
        return raw

    received = _day("received", value("received"), today, reasons)
    closed = _day("closed", value("closed"), today, reasons)
    if received and closed and closed < received:
        reasons.append("closed is before received")
    org = choice("org", orgs, "a member organisation id")
    channel = choice("channel", IMPORTED_CHANNELS, "written, oral or electronic")
    topic = choice("topic", TOPICS, "a topic id")
    workplace = None
    if value("workplace"):
        kinds = {kind.value for kind in WorkplaceType}
        raw = choice("workplace", kinds, "a workplace type")
        workplace = WorkplaceType(raw) if raw in kinds else None
    outcome = Outcome(consultation=False)
    for column in FLAGS:
        setattr(outcome, column, _flag(column, value(column), reasons, empty=False))
    for column in TRISTATE:
        setattr(outcome, column, _flag(column, value(column), reasons, empty=None))
    for column, limit in NUMBERS.items():
        setattr(outcome, column, _number(column, value(column), limit, reasons))
    if not reasons:
        reasons += [OUTCOME_PROBLEMS.get(code, code) for code in outcome.problems()]
    name = value("name") or None
    if name is not None and len(name) > MAX_NAME:
        reasons.append(f"name is longer than {MAX_NAME} characters")
    if reasons or received is None or closed is None:
        return None, reasons
    return RegisterRow(line, received, closed, org, channel, topic, workplace, outcome, name), []


def _day(name: str, raw: str, today: date, reasons: list[str]) -> date | None:
    if not raw:
        reasons.append(f"{name} is empty")
        return None
    try:
        day = parse_local_day(raw)
    except PeriodError:
        reasons.append(f"{name} {raw!r} is not a date like 31.12.2019 or 2019-12-31")
        return None
    problem = date_problem(day, today)
    if problem == "future":
        reasons.append(f"{name} {raw} is in the future")
    elif problem == "too-early":
        reasons.append(f"{name} {raw} is before 2000")
    return None if problem else day


def _flag(name: str, raw: str, reasons: list[str], *, empty: bool | None) -> bool | None:
    word = raw.lower()
    if not word:
        return empty
    if word in YES:
        return True
    if word in NO:
        return False
    reasons.append(f"{name} {raw!r} is not 1 or 0")
    return empty


def _number(name: str, raw: str, limit: int, reasons: list[str]) -> int:
    digits = "".join(raw.split()).replace("\u00a0", "").replace("\u202f", "").rstrip("₸")
    for zeros in (",00", ".00", ",0", ".0"):
        if digits.endswith(zeros):
            digits = digits[: -len(zeros)]
    if not digits:
        return 0
    if not digits.isdigit() or not digits.isascii():
        reasons.append(f"{name} {raw!r} is not a whole number of 0 or more")
        return 0
    if int(digits) > limit:
        reasons.append(f"{name} {raw} is more than {limit}")
        return 0
    return int(digits)


async def earlier_import(session: AsyncSession, digest: str) -> str | None:
    setting = await session.get(BotSetting, SETTING + digest[:48])
    return setting.value if setting is not None else None


async def import_register(
    session: AsyncSession,
    register: Register,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    actor: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Store the register's appeals, closed, in the caller's transaction; how many.
    ImportRefused if this file was imported before. The register must have no problems."""
    if register.problems or not register.rows:
        raise ValueError("a register with problems is not imported")
    earlier = await earlier_import(session, register.digest)
    if earlier is not None:
        raise ImportRefused(earlier)
    now = now or utcnow()
    stored = 0
    for start in range(0, len(register.rows), CHUNK):
        rows = register.rows[start : start + CHUNK]
        people = await add_people(session, [row.name for row in rows])
        appeals = [
            _appeal(row, person.id, tz, now) for row, person in zip(rows, people, strict=True)
        ]
        session.add_all(appeals)
        await session.flush()  # the tally's listener counts them here
        stored += len(appeals)
        # One transaction for the whole file, but not every row in memory at once.
        session.expunge_all()
        if progress is not None:
            progress(stored)
    session.add(
        BotSetting(
            key=SETTING + register.digest[:48],
            value=f"{stored} appeals, imported {now:%Y-%m-%d %H:%M} UTC",
            changed_at=now,
        )
    )
    await audit(session, actor, "import-appeals", appeals=stored, digest=register.digest[:16])
    await session.flush()
    return stored


def _appeal(row: RegisterRow, person_id: int, tz: ZoneInfo, now: datetime) -> Appeal:
    created = received_at(row.received, tz, now)
    closed = max(received_at(row.closed, tz, now), created)
    outcome = row.outcome
    return Appeal(
        member_id=person_id,
        member_org=row.org,
        workplace_type=row.workplace,
        topic=row.topic,
        text=None,
        attachments=[],
        source=AppealSource.DIRECT,
        channel=row.channel,
        created_at=created,
        status=AppealStatus.CLOSED,
        closed_at=closed,
        outcome_consultation=outcome.consultation,
        outcome_justified=outcome.justified,
        outcome_conciliation=outcome.conciliation,
        outcome_court=outcome.court,
        outcome_court_won=outcome.court_won if outcome.court else None,
        outcome_mediation=outcome.mediation,
        outcome_reinstated=outcome.reinstated,
        outcome_inspection=outcome.inspection,
        outcome_outside_competence=outcome.outside_competence,
        violations_found=outcome.violations_found,
        violations_remedied=outcome.violations_remedied,
        money_returned_kzt=outcome.money_returned_kzt,
        economic_effect_kzt=outcome.economic_effect_kzt,
    )
