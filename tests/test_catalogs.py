"""Both catalogs complete, and the compiled .mo files up to date with their .po sources."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "locales"
PLACEHOLDER = re.compile(r"\{\w*\}")


def entries(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_catalog_is_complete(lang: str) -> None:
    catalog = entries(lang)
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_translations_keep_placeholders_and_tags(lang: str) -> None:
    for message in entries(lang):
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid
            for tag in ("<b>", "</b>", "<i>", "</i>"):
                assert msgid.count(tag) == text.count(tag), (msgid, tag)


def test_catalog_covers_every_string_in_the_code() -> None:
    pot = read_po((LOCALES / "messages.pot").open("rb"))
    from babel.messages.extract import extract_from_dir

    keywords = {"_": None, "__": None, "N_": None}
    found = {
        msg if isinstance(msg, str) else msg[0]
        for _, _, msg, _, _ in extract_from_dir(str(LOCALES.parent), keywords=keywords)
    }
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in pot if m.id}
    assert found - known == set(), "run scripts/i18n.sh: strings missing from the catalogs"
    for lang in ("kk", "ru"):
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in entries(lang) if m.id}
        assert found - ids == set(), lang


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_compiled_catalog_is_not_stale(lang: str) -> None:
    po = entries(lang)
    with (LOCALES / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        mo = read_mo(BytesIO(f.read()))
    expected = {m.id: m.string for m in po if m.id and not m.fuzzy}
    actual = {m.id: m.string for m in mo if m.id}
    assert actual == expected, "run scripts/i18n.sh compile"


# English words a member would otherwise read (commands such as /faq, placeholders and the
# staff's role names in /invite's usage are not shown as words).
ENGLISH_SHOWN = re.compile(r"(?<![/{@\w])(FAQ|username|Telegram id|reply)(?![\w}])")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_no_english_words_in_what_members_read(lang: str) -> None:
    shown = [
        (m.id, m.string)
        for m in entries(lang)
        if m.id and isinstance(m.string, str) and ENGLISH_SHOWN.search(m.string)
    ]
    assert shown == []


def test_kazakh_interface_uses_the_union_s_words() -> None:
    """«Күйі» for status, «Болдырмау» for cancel, «Жасырын» for anonymous."""
    by_id = {m.id: str(m.string) for m in entries("kk") if isinstance(m.id, str) and m.id}
    assert by_id["Status"] == "Күйі"
    assert by_id["Status: {status}"].startswith("Күйі:")
    assert "Болдырмау" in by_id["✖️ Cancel"]
    assert by_id["anonymous"] == "жасырын"
    assert "Жасырын" in by_id["🕶 Send anonymously"]
    assert not [s for s in by_id.values() if "аноним" in s.lower()]
