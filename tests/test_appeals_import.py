"""python -m bot appeals import FILE.csv: a region's paper register in the appeal log and
the report, refused as a whole when any line is bad, never imported twice."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.__main__ import main
from bot.handlers.desk.thread import pages
from bot.i18n import create_i18n
from bot.report.figures import build_report
from bot.report.period import Period
from bot.report.tally import rebuild, rows_for_check
from bot.services.appeal_import import (
    COLUMNS,
    ImportRefused,
    import_register,
    read_register,
)
from bot.services.desk import open_card
from bot.services.logged import logged_person
from bot.services.staff import StaffView
from bot.storage.db import create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Appeal, AppealStatus, Member, ReportTally, StaffRole
from bot.topics import default_member_orgs
from tests import report_data
from tests.databases import KINDS, database, migrated_sqlite
from tests.processes import python

ORGS = frozenset(default_member_orgs().by_id)
TODAY = date(2026, 3, 1)
HEADER = list(COLUMNS)


def line(sep: str = ";", **cells: str) -> str:
    return sep.join(cells.get(name, "") for name in HEADER)


# Five appeals of 2019-2020, counted by hand in the test below.
GOOD = [
    line(received="14.02.2019", org="karaganda", channel="written", topic="pay",
         workplace="school", consultation="1", justified="1", inspection="1",
         violations_found="2", violations_remedied="1", money_returned_kzt="85 000",
         economic_effect_kzt="100000", closed="03.03.2019", name="Иванова А."),
    line(received="2019-03-10", org="karaganda", channel="oral", topic="dismissal",
         workplace="College", consultation="0", justified="1", conciliation="1", court="1",
         court_won="1", reinstated="1", economic_effect_kzt="700000", closed="2019-05-20"),
    line(received="20.12.2019", org="abai", channel="Oral", topic="leave", consultation="да",
         justified="нет", closed="15.01.2020"),
    line(received="01.06.2019", org="astana", channel="electronic", topic="other",
         workplace="university", outside_competence="1", closed="01.06.2019"),
    line(received="31.12.2019", org="abai", channel="written", topic="pay",
         workplace="kindergarten", consultation="иә", conciliation="жоқ", court="no",
         closed="31.12.2019"),
]  # fmt: skip


def register_file(rows: list[str], *, sep: str = ";", bom: bool = True, crlf: bool = True) -> bytes:
    text = "\r\n".join([sep.join(HEADER), *rows]) + "\r\n"
    if not crlf:
        text = text.replace("\r\n", "\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_register_is_counted_in_the_report_as_a_hand_count(
    kind: str, tmp_path: Path
) -> None:
    register = read_register(register_file(GOOD), orgs=ORGS, today=TODAY)
    assert register.problems == []
    assert [row.line for row in register.rows] == [2, 3, 4, 5, 6]
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        sessions = create_session_factory(engine, report_data.TZ)
        async with sessions() as session:
            await rebuild(session, report_data.TZ)  # a built tally, kept by the listener
            await session.commit()
            assert await import_register(session, register, tz=report_data.TZ) == 5
            await session.commit()

        async with sessions() as session:
            report = await build_report(
                session,
                Period.year(2019),
                orgs=None,
                tz=report_data.TZ,
                member_orgs=default_member_orgs(),
            )
            ind = report.current.indicators
            assert (ind["appeals_received"], ind["appeals_considered"]) == (5, 4)
            assert (ind["appeals_written"], ind["appeals_oral"]) == (2, 2)
            assert ind["appeals_electronic"] == 1
            assert ind["consultations"] == 2  # lines 2 and 6 (line 4 closed in 2020)
            assert ind["found_justified"] == 2
            assert (ind["conciliation_commission"], ind["court_cases"]) == (1, 1)
            assert (ind["court_claims_won"], ind["reinstated"]) == (1, 1)
            assert (ind["inspections"], ind["outside_competence"]) == (1, 1)
            assert (ind["violations_found"], ind["violations_remedied"]) == (2, 1)
            assert ind["money_returned_kzt"] == 85_000
            assert ind["economic_effect_kzt"] == 800_000
            assert ind["backlog_open"] == 1  # line 4, closed on 15 January 2020
            assert ind["answered"] == 0 and ind["ratings"] == 0
            assert report.current.by_org["abai"]["received"] == 2
            # Nobody became a member of the bot.
            assert not any(c.get("bot_members") for c in report.current.by_org.values())

            appeals = list(await session.scalars(select(Appeal).order_by(Appeal.created_at)))
            assert {a.status for a in appeals} == {AppealStatus.CLOSED}
            assert {a.claimed_by for a in appeals} == {None}
            first = appeals[0]
            # 09:00 that day in Almaty (UTC+6 until March 2024).
            assert first.created_at.astimezone(report_data.TZ).isoformat() == (
                "2019-02-14T09:00:00+06:00"
            )
            assert first.workplace_type == "school" and first.outcome_justified is True
            assert appeals[1].outcome_court_won is True  # 10 March
            people = list(await session.scalars(select(Member).order_by(Member.id)))
            assert len(people) == 5 and all(p.telegram_id == -p.id for p in people)
            assert all(not p.active and p.consent_at is None for p in people)
            assert sum(1 for p in people if p.full_name == "Иванова А.") == 1
            logged = await session.scalar(
                select(func.count()).select_from(Member).where(logged_person())
            )
            assert logged == 5

            # A head lawyer reads an imported e-mail's card as an appeal from outside the bot.
            emailed = next(a for a in appeals if a.channel == "electronic")
            head = StaffView(1, 1, StaffRole.HEAD_LAWYER, ())
            card = await open_card(session, head, emailed.id, audited=False)
            i18n = create_i18n()
            with i18n.context(), i18n.use_locale("ru"):
                text = pages(card, default_member_orgs(), "ru", report_data.TZ)[0]
            assert "в электронном виде" in text and "Краткое содержание вопроса" in text
            assert "Член профсоюза:" not in text

            followed = rows_for_check(await session.scalars(select(ReportTally)))
            await rebuild(session, report_data.TZ)
            assert rows_for_check(await session.scalars(select(ReportTally))) == followed
            await session.rollback()

        # The same file again: refused, naming the first import; nothing doubles.
        async with sessions() as session:
            with pytest.raises(ImportRefused) as refused:
                await import_register(session, register, tz=report_data.TZ)
            assert "5 appeals" in refused.value.earlier
            await session.rollback()
            assert await session.scalar(select(func.count()).select_from(Appeal)) == 5


BAD = [
    (GOOD[0], None),
    (line(received="14.02.2019", org="nowhere", channel="written", topic="pay",
          closed="01.03.2019"), "org 'nowhere' is not a member organisation id"),
    (line(received="30.02.2019", org="abai", channel="written", topic="pay",
          closed="01.03.2019"), "received '30.02.2019' is not a date"),
    (line(received="02.03.2099", org="abai", channel="oral", topic="pay",
          closed="02.03.2099"), "received 02.03.2099 is in the future"),
    (line(received="10.03.2019", org="abai", channel="oral", topic="pay",
          closed="09.03.2019"), "closed is before received"),
    (line(received="10.03.2019", org="abai", channel="oral", topic="pay", inspection="1",
          violations_found="1", violations_remedied="2", closed="19.03.2019"),
     "violations_remedied is more than violations_found"),
    (line(received="10.03.2019", org="abai", channel="oral", topic="pay", court_won="1",
          closed="19.03.2019"), "court_won is given but court is not 1"),
    (line(received="10.03.2019", org="abai", channel="oral", topic="pay",
          money_returned_kzt="-5", closed="19.03.2019"),
     "money_returned_kzt '-5' is not a whole number"),
    (line(received="10.03.2019", org="abai", channel="fax", topic="pay", consultation="maybe",
          closed="19.03.2019"), "channel 'fax' is not written, oral or electronic; "
     "consultation 'maybe' is not 1 or 0"),
    ("10.03.2019;abai;oral", "3 fields, the header line has 20"),
    (line(received="31.12.1999", org="abai", channel="oral", topic="salary",
          closed=""), "received 31.12.1999 is before 2000; closed is empty; "
     "topic 'salary' is not a topic id"),
    ("", None),  # an empty line is skipped
    (line(received="10.03.2019", org="abai", channel="oral", topic="pay",
          name="Я" * 201, closed="19.03.2019"), "name is longer than 200 characters"),
]  # fmt: skip


def test_a_bad_file_is_refused_as_a_whole_with_every_bad_line_named() -> None:
    register = read_register(register_file([r for r, _ in BAD]), orgs=ORGS, today=TODAY)
    expected = [(n, reason) for n, (_r, reason) in enumerate(BAD, start=2) if reason]
    assert [p.line for p in register.problems] == [n for n, _ in expected]
    for problem, (_n, reason) in zip(register.problems, expected, strict=True):
        assert reason in problem.reason, (problem, reason)
        assert str(problem).startswith(f"line {problem.line}: ")
    assert len(register.rows) == 1  # the good line is read, and not imported alone


def test_commas_without_a_byte_order_mark_quotes_and_a_bad_header() -> None:
    rows = [
        line(",", received="01.02.2021", org="almaty", channel="written", topic="pay",
             closed="02.02.2021", name='"Ахметова, Д."'),
    ]  # fmt: skip
    register = read_register(register_file(rows, sep=",", bom=False), orgs=ORGS, today=TODAY)
    assert register.problems == [] and register.rows[0].name == "Ахметова, Д."
    # The same text with a byte order mark and other line endings is the same file.
    again = read_register(register_file(rows, sep=",", crlf=False), orgs=ORGS, today=TODAY)
    assert again.digest == register.digest
    # Only what the header needs: optional columns may be left out; a typo is named.
    short = "received;org;channel;topic;closed\n01.02.2021;almaty;oral;pay;01.02.2021\n"
    assert read_register(short.encode(), orgs=ORGS, today=TODAY).problems == []
    typo = "received;org;channel;topic;closed;justifed\n"
    problems = read_register(typo.encode(), orgs=ORGS, today=TODAY).problems
    assert len(problems) == 1 and "'justifed'" in problems[0].reason
    missing = read_register(b"received;org;topic\n", orgs=ORGS, today=TODAY).problems
    assert [str(p) for p in missing] == ["line 1: required column(s) missing: channel, closed"]
    for nothing in (b"", b"\xef\xbb\xbf\r\n", b"received;org;channel;topic;closed\n"):
        assert len(read_register(nothing, orgs=ORGS, today=TODAY).problems) == 1
    # Excel's plain "CSV" in a Russian Windows: cp1251, not UTF-8; named at its first line.
    cp1251 = register_file(GOOD[:1], bom=False).decode().encode("cp1251")
    problems = read_register(cp1251, orgs=ORGS, today=TODAY).problems
    assert [p.line for p in problems] == [2] and "UTF-8" in problems[0].reason


def cli(*args: str) -> int:
    return main(["appeals", "import", *args])


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = migrated_sqlite(tmp_path / "bot.db")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(register_file(GOOD))
    bad.write_bytes(register_file([r for r, _ in BAD]))

    assert cli(str(bad)) == 2
    out = capsys.readouterr()
    errors = out.err.strip().splitlines()
    assert out.out == "" and len(errors) == 11 + 1  # a line per bad line, then the verdict
    assert errors[0].startswith(f"{bad}: line 3: ") and "nothing imported" in errors[-1]

    assert cli(str(good)) == 0
    out = capsys.readouterr()
    assert out.err == "" and len(out.out.strip().splitlines()) == 1
    assert "imported 5 appeals" in out.out and "2 written, 2 oral, 1 electronic" in out.out

    assert cli(str(good)) == 1
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "imported before" in out.err and "5 appeals" in out.err

    assert cli(str(tmp_path / "missing.csv")) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM appeal").fetchone() == (5,)
        assert conn.execute("SELECT COUNT(*) FROM bot_setting").fetchone() == (1,)
        actions = [r[0] for r in conn.execute("SELECT action FROM audit")]
        assert actions == ["import-appeals"]


IMPORT_ONLY = """
import json, sys
import bot.__main__
code = bot.__main__.main(["appeals", "import", sys.argv[1]])
print(json.dumps({"code": code, "aiogram": "aiogram" in sys.modules}))
"""


def test_the_import_never_loads_aiogram_and_its_help_lists_the_columns(tmp_path: Path) -> None:
    db = migrated_sqlite(tmp_path / "bot.db")
    good = tmp_path / "good.csv"
    good.write_bytes(register_file(GOOD))
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PATH": "/usr/bin:/bin"}
    done = python("-c", IMPORT_ONLY, str(good), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "aiogram": False}
    shown = python("-m", "bot", "appeals", "import", "--help", env=env)
    assert shown.returncode == 0
    for name in COLUMNS:
        assert name in shown.stdout
    example = "\n".join(row.strip() for row in shown.stdout.strip().splitlines()[-2:])
    register = read_register(example.encode(), orgs=ORGS, today=TODAY)
    assert register.problems == [] and len(register.rows) == 1
