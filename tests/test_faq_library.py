"""The live FAQ in the database: seeding, versions, sign-offs, import/export, and every
instance serving what was published."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.__main__ import main
from bot.faq.content import CONTENT_DIR, Ref, load_faq, sign_off_valid_until
from bot.faq.export import write_yaml
from bot.faq.library import FaqLibrary
from bot.scale.sync import DirectorySync, FaqReload
from bot.services.members import MemberDirectory
from bot.services.staff import StaffDirectory
from bot.storage import faq as store
from bot.storage.db import create_engine, create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import FaqEntry, utcnow
from tests.databases import KINDS, database

LAWYER = store.Author(None, "Айгерім Сапарова")


def edited(texts: store.Texts, ru_answer: str) -> store.Texts:
    assert texts.answer is not None
    return store.Texts(
        title=texts.title,
        answer={**texts.answer, "ru": ru_answer},
        keywords=texts.keywords,
        refs=texts.refs,
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_versions_sign_offs_and_a_second_instance_serving_the_edit(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        first, second = (FaqLibrary.from_directory(CONTENT_DIR) for _ in range(2))
        await first.open(factory)  # seeds
        await second.open(factory)  # reads what the first one seeded
        assert len(second.faq.answers) == len(load_faq().answers)
        node = second.faq.get("leave-pedagogue-56")
        assert node is not None and node.version == 1 and node.signed_by is None

        async with factory() as session:
            assert await store.sign_off(session, node.id, 1, LAWYER, utcnow())
            await session.commit()
        await first.changed()
        signed = first.faq.get(node.id)
        assert signed is not None and signed.signed_by == LAWYER.name

        async with factory() as session:
            before = store.Texts.of_version(await store.current_version(session, node.id))  # type: ignore[arg-type]
            published = await store.publish(
                session, node.id, edited(before, "Новый текст."), LAWYER
            )
            assert published is not None and published.number == 2
            assert published.changes == ["answer:ru"]
            # The same texts again: nothing to publish, no empty version.
            assert (
                await store.publish(session, node.id, edited(before, "Новый текст."), LAWYER)
                is None
            )
            # A sign-off of the version the lawyer saw earlier is refused: it changed.
            assert not await store.sign_off(session, node.id, 1, LAWYER, utcnow())
            await session.commit()

        # The other instance serves the edit as soon as it looks (a sync message, or its
        # periodic check), unsigned: the edit cleared the sign-off.
        assert await second.refresh(factory)
        live = second.faq.get(node.id)
        assert live is not None and live.answer_in("ru") == "Новый текст." and live.version == 2
        assert live.signed_by is None
        assert [h.node.id for h in second.index.search("Новый текст", limit=1)] == [node.id]
        assert not await second.refresh(factory)  # nothing new: no reload

        # Restoring version 1 is a new version with the old texts.
        async with factory() as session:
            old = await store.version(session, node.id, 1)
            assert old is not None
            restored = await store.publish(
                session, node.id, store.Texts.of_version(old), LAWYER, restored_from=1
            )
            assert restored is not None and restored.number == 3
            history = await store.versions(session, node.id)
            await session.commit()
        assert [v.number for v in history] == [3, 2, 1]
        await second.refresh(factory)
        back = second.faq.get(node.id)
        assert back is not None and back.answer_in("ru") == load_faq().nodes[node.id].answer_in(
            "ru"
        )
        assert back.signed_by is None  # version 1's sign-off belongs to version 1 only


async def test_export_writes_the_shipped_format_and_import_keeps_unchanged_sign_offs(
    tmp_path: Path,
) -> None:
    async with database("sqlite", tmp_path) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        library = FaqLibrary.from_directory(CONTENT_DIR)
        await library.open(factory)
        async with factory() as session:
            for entry_id in ("leave-pedagogue-56", "pay-late-wages"):
                assert await store.sign_off(session, entry_id, 1, LAWYER, utcnow())
            await session.commit()
            faq = await store.load_tree(session)
        out = tmp_path / "export"
        write_yaml(faq, out)
        # Same files, same texts as the repository's.
        assert sorted(p.name for p in out.iterdir()) == sorted(
            p.name for p in CONTENT_DIR.iterdir()
        )
        again = load_faq(out)
        shipped = load_faq()
        assert again.nodes.keys() == shipped.nodes.keys()
        for node_id, node in shipped.nodes.items():
            assert store.Texts.of_node(again.nodes[node_id]) == store.Texts.of_node(node)

        # A lawyer's change in git: one answer edited, one removed.
        leave = yaml.safe_load((out / "leave.yaml").read_text(encoding="utf-8"))
        annual = leave["children"][0]["children"]
        annual[0]["answer"]["ru"] += "\n\nДополнено."
        annual.pop()
        (out / "leave.yaml").write_text(yaml.safe_dump(leave, allow_unicode=True), encoding="utf-8")
        async with factory() as session:
            result = await store.import_faq(session, load_faq(out), store.Author(None, "import"))
            await session.commit()
        assert result.changed == ["leave-pedagogue-56"] and len(result.retired) == 1
        assert not result.created
        await library.refresh(factory)
        assert library.faq.get("pay-late-wages").signed_by == LAWYER.name  # type: ignore[union-attr]
        assert library.faq.get("leave-pedagogue-56").signed_by is None  # type: ignore[union-attr]
        assert library.faq.get(result.retired[0]) is None
        async with factory() as session:  # retired, not deleted: its versions stay
            assert await session.get(FaqEntry, result.retired[0]) is not None


def test_cli_export_import_round_trip_and_invalid_content_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    out = tmp_path / "faq"
    assert main(["faq", "export", str(out)]) == 0
    assert main(["faq", "check", "--dir", str(out)]) == 0
    assert main(["faq", "import", str(out)]) == 0
    assert "0 new, 0 changed" in capsys.readouterr().out
    pay = out / "pay.yaml"
    pay.write_text(pay.read_text(encoding="utf-8").replace("refs:", "refz:", 1), encoding="utf-8")
    assert main(["faq", "import", str(out)]) == 1
    assert "nothing imported" in capsys.readouterr().err


def test_a_sign_off_lasts_twelve_months() -> None:
    signed = datetime(2026, 12, 7, 10, 0)
    assert sign_off_valid_until(signed) == datetime(2027, 12, 7, 10, 0)
    assert sign_off_valid_until(datetime(2028, 2, 29)) == datetime(2029, 2, 28)
    assert sign_off_valid_until(signed) - signed > timedelta(days=364)


async def test_a_sync_message_from_another_instance_reloads_the_faq(tmp_path: Path) -> None:
    async with database("sqlite", tmp_path) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        library = FaqLibrary.from_directory(CONTENT_DIR)
        await library.open(factory)
        sync = DirectorySync(
            None,  # type: ignore[arg-type]  # receiving only: no Redis needed
            "p",
            MemberDirectory(),
            StaffDirectory(),
            FaqReload(library, factory),
        )
        async with factory() as session:
            node = library.faq.get("pay-late-wages")
            assert node is not None
            texts = store.Texts.of_node(node)
            await store.publish(
                session,
                node.id,
                store.Texts(texts.title, texts.answer, texts.keywords, (Ref("A", "B"),)),
                LAWYER,
            )
            await session.commit()
        sync.apply("other-instance faq")
        for _ in range(100):
            if library.faq.get("pay-late-wages").refs == [Ref("A", "B")]:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        assert library.faq.get("pay-late-wages").refs == [Ref("A", "B")]  # type: ignore[union-attr]
        await sync.stop()


@pytest.mark.parametrize("kind", KINDS)
async def test_instances_starting_at_once_on_an_empty_database_seed_it_once(
    kind: str, tmp_path: Path
) -> None:
    """Two instances started together on a new database both find it empty; one seeds it,
    the other reads what it seeded (it used to stop on the duplicate key)."""
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        other = create_engine(engine.url.render_as_string(hide_password=False))
        try:
            libraries = [FaqLibrary.from_directory(CONTENT_DIR) for _ in range(2)]
            await asyncio.gather(
                libraries[0].open(create_session_factory(engine)),
                libraries[1].open(create_session_factory(other)),
            )
        finally:
            await other.dispose()
        async with create_session_factory(engine)() as session:
            entries = await session.scalar(select(func.count()).select_from(FaqEntry))
            revision = await store.revision(session)
        assert entries == len(load_faq().nodes)
        assert [library.revision for library in libraries] == [revision, revision]
        assert all(len(library.faq.answers) == len(load_faq().answers) for library in libraries)


@pytest.mark.parametrize("kind", KINDS)
async def test_the_instance_that_found_the_database_empty_a_moment_too_early_reads_it(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving the race above may or may not hit: the second instance saw no
    content, then the first committed its seeding. The second must read that content
    (not import the YAML again over it, which moved the revision under the first)."""
    async with database(kind, tmp_path) as engine:
        await upgrade(engine)
        factory = create_session_factory(engine)
        first = FaqLibrary.from_directory(CONTENT_DIR)
        await first.open(factory)

        async def seen_too_early(_session: object) -> bool:
            return False

        monkeypatch.setattr(store, "has_content", seen_too_early)
        second = FaqLibrary.from_directory(CONTENT_DIR)
        await second.open(factory)
        async with factory() as session:
            revision = await store.revision(session)
        assert first.revision == second.revision == revision == 1
        assert len(second.faq.answers) == len(load_faq().answers)
