"""python -m bot stats: formats, exit codes and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.storage.db import create_engine
from bot.storage.migrate import upgrade
from tests import report_data

KEYS = {
    "appeals_received",
    "appeals_considered",
    "consultations",
    "found_justified",
    "conciliation_commission",
    "court_cases",
    "court_claims_won",
    "mediation_agreements",
    "reinstated",
    "inspections",
    "violations_found",
    "violations_remedied",
    "money_returned_kzt",
    "self_service_answers",
    "median_first_answer_hours",
    "satisfaction_avg",
}


@pytest.fixture
async def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "report.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await report_data.load(engine)
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("TIMEZONE", "Asia/Almaty")
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    return path


def _run(args: list[str]) -> int:
    # main() runs its own event loop: call it outside the test's loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, args).result()


async def test_json_has_the_contract_keys(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(["stats", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data["indicators"]) >= KEYS
    assert data["indicators"]["appeals_received"] == 5
    assert data["indicators"]["median_first_answer_hours"] == 6.5
    assert data["previous"]["indicators"]["appeals_received"] == 3
    assert data["by_topic"]["pay"]["received"] == 3
    assert data["by_org"]["almaty"]["received"] == 2
    assert list(data["by_month"]) == ["2025-03"]


async def test_one_org_and_csv_to_a_file(db_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "astana.csv"
    args = ["stats", "--from", "2025-03-01", "--to", "2025-03-31", "--org", "astana"]
    assert _run([*args, "--format", "csv", "--lang", "ru", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    received = next(r for r in rows if r["key"] == "appeals_received")
    assert (received["value"], received["previous"]) == ("2", "1")  # 3, 4; and 8 in February
    assert received["change_pct"] == "100.0"
    considered = next(r for r in rows if r["key"] == "appeals_considered")
    assert considered["name"] == "Рассмотрено обращений членов профсоюза"
    assert {r["key"] for r in rows if r["section"] == "org"} == {"astana"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-02-30", "--to", "2025-03-31"], "not a valid date"),
        (["--from", "01.03.2025", "--to", "2025-03-31"], "YYYY-MM-DD"),
        (["--from", "2025-03-31", "--to", "2025-03-01"], "ends before it starts"),
        (["--from", "2025-03-01", "--to", "2025-03-31", "--org", "atlantis"], "atlantis"),
        (["--from", "2025-03-01", "--to", "2025-03-31", "--format", "xlsx"], "--out"),
    ],
)
async def test_bad_input_exits_2_with_one_line(
    db_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert _run(["stats", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


async def test_missing_database_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert _run(["stats", "--from", "2025-03-01", "--to", "2025-03-31"]) == 1
    err = capsys.readouterr().err
    assert "no database" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()


async def test_unreachable_postgres_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert _run(["stats", "--from", "2025-03-01", "--to", "2025-03-31"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stats: database error") and len(err.strip().splitlines()) == 1


def _failing_titles(path: Path) -> list[tuple[object, ...]]:
    """(kk title, ru title, id) of each answer in the workbook's "help least" table."""
    import openpyxl

    from bot.report.excel import FAQ_FAILING, sheet_title
    from bot.report.labels import translate

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = [r for r in wb[sheet_title("summary")].iter_rows(values_only=True) if any(r)]
    finally:
        wb.close()
    start = next(i for i, r in enumerate(rows) if r[1] == translate(FAQ_FAILING, "kk"))
    return [(r[1], r[2], r[5]) for r in rows[start + 2 :]]


async def test_xlsx_names_answers_by_the_shipped_titles(db_file: Path, tmp_path: Path) -> None:
    from bot.faq.content import load_faq

    out = tmp_path / "report.xlsx"
    assert _run(["stats", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "xlsx",
                 "--out", str(out)]) == 0  # fmt: skip
    node = load_faq().nodes["leave-pay-timing"]
    assert _failing_titles(out) == [(node.title_in("kk"), node.title_in("ru"), "leave-pay-timing")]


async def test_xlsx_names_answers_by_the_live_titles(db_file: Path, tmp_path: Path) -> None:
    from bot.faq.content import load_faq
    from bot.storage import faq as store
    from bot.storage.db import create_session_factory

    engine = create_engine(f"sqlite+aiosqlite:///{db_file}")
    async with create_session_factory(engine)() as session:
        await store.import_faq(session, load_faq())
        version = await store.current_version(session, "leave-pay-timing")
        assert version is not None
        texts = store.Texts.of_version(version)
        title = {"kk": "Демалыс ақысы: мерзімі", "ru": "Отпускные: срок выплаты"}
        edited = store.Texts(title, texts.answer, texts.keywords, texts.refs)
        await store.publish(session, "leave-pay-timing", edited, store.Author(None, "Заңгер"))
        await session.commit()
    await engine.dispose()
    out = tmp_path / "report.xlsx"
    assert _run(["stats", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "xlsx",
                 "--out", str(out)]) == 0  # fmt: skip
    assert _failing_titles(out) == [(title["kk"], title["ru"], "leave-pay-timing")]
