"""The shipped FAQ content, the check that guards it, and the faq CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.faq.content import CONTENT_DIR, check_faq, load_faq
from bot.topics import TOPICS
from tests.processes import python
from tests.warm_start import COLD, STARTER


def test_shipped_content_is_valid_and_large_enough() -> None:
    faq, problems = check_faq(CONTENT_DIR)
    assert problems == []
    assert [t.id for t in faq.topics] == list(TOPICS)
    assert len(faq.answers) >= 85
    for topic in TOPICS:
        if topic != "other":
            assert sum(1 for a in faq.answers if a.topic == topic) >= 2, topic


def test_every_answer_cites_articles_in_both_languages() -> None:
    faq = load_faq()
    for answer in faq.answers:
        assert answer.refs, answer.id
        for lang in ("kk", "ru"):
            assert answer.answer_in(lang).strip(), (answer.id, lang)


def test_no_fact_marked_verify_in_domain_is_stated() -> None:
    # Overtime monthly/yearly caps and the conciliation-commission exemptions are
    # "(verify)" in domain.md; the status-of-pedagogue law is cited without article numbers.
    faq = load_faq()
    for answer in faq.answers:
        for ref in answer.refs:
            for text in (ref.kk, ref.ru):
                if "статусе педагога" in text or "мәртебесі" in text:
                    assert "ст." not in text and "бап" not in text, (answer.id, text)


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    for path in CONTENT_DIR.glob("*.yaml"):
        if path.stem not in {"pay", "leave", "other"}:
            write(tmp_path, path.name, path.read_text(encoding="utf-8"))
    write(
        tmp_path,
        "pay.yaml",
        """
id: pay
title: {kk: Еңбекақы, ru: Оплата труда}
children:
  - id: pay-dup
    title: {kk: "Сұрақ", ru: "Вопрос"}
    answer: {kk: "Жауап", ru: ""}
    refs: []
    reviewed: 2026-11-20
  - id: pay-dup
    title: {kk: "Өте ұзын тақырып өте ұзын тақырып өте ұзын тақырып өте ұзын тақырып", ru: "x"}
    answer: {kk: "a", ru: "b"}
    refs: [{kk: "ЕК 113-бап", ru: "ТК ст. 113"}]
  - id: pay-comma
    title: {kk: Балабақша, колледж, ru: Нагрузка}
    answer: {kk: "a", ru: "b"}
    refs: [{kk: "ЕК 113-бап", ru: "ТК ст. 113"}]
    answr: {kk: "a", ru: "b"}
  - id: Pay_Bad-ID-that-is-far-too-long-for-telegram-button-data
    title: {kk: "a", ru: "b"}
    answer: {kk: "a", ru: "b"}
    refs: [{kk: "ЕК 113-бап", ru: "ТК ст. 113"}]
""",
    )
    write(tmp_path, "leave.yaml", "id: leave\ntitle: {kk: Демалыс, ru: Отпуск}\nchildren: [\n")
    return tmp_path


def test_check_names_each_problem(broken_dir: Path) -> None:
    _, problems = check_faq(broken_dir)
    joined = "\n".join(problems)
    assert "pay-dup: answer has no ru text" in joined
    assert "at least one article reference" in joined
    assert "content carries no review date" in joined
    assert "duplicate id" in joined
    assert "title in kk is" in joined and "limit 60" in joined
    assert "lowercase letters" in joined and "button data limit 64" in joined
    assert "leave.yaml: not valid YAML" in joined
    assert "other.yaml: topic 'other' has no file" in joined
    assert "pay-comma: title has unknown keys ['колледж']" in joined
    assert "pay-comma: unknown keys ['answr']" in joined


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return python("-m", "bot", *args, stdin=stdin)


def test_cli_check_exit_codes(broken_dir: Path) -> None:
    good = run_cli("faq", "check")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run_cli("faq", "check", "--dir", str(broken_dir))
    assert bad.returncode == 1
    assert "pay-dup" in bad.stdout and "problem(s)" in bad.stderr


def test_cli_search_json_from_argument_and_stdin() -> None:
    one = run_cli("faq", "search", "--lang", "ru", "--json", "задерживают", "зарплату")
    assert one.returncode == 0, one.stderr
    hits = json.loads(one.stdout)
    assert hits and {"id", "topic", "title", "score"} <= set(hits[0])
    assert hits[0]["topic"] == "pay"
    many = run_cli("faq", "search", "--lang", "kk", "--json", stdin="демалыс\n\nжалақы кешікті\n")
    lines = many.stdout.strip().splitlines()
    assert len(lines) == 2 and all(isinstance(json.loads(line), list) for line in lines)


def test_bot_refuses_to_start_on_invalid_content(broken_dir: Path, tmp_path: Path) -> None:
    import os

    env = {
        **os.environ,
        "BOT_TOKEN": "123456:TEST-token_abcdefghijklmnopqrstuvwxyz",
        "FAQ_DIR": str(broken_dir),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
    }
    result = python("-m", "bot", env=env) if COLD else STARTER.run("-m", "bot", env=env)
    assert result.returncode == 1
    assert "FAQ content is invalid" in result.stderr and "pay-dup" in result.stderr


# Phrases a union lawyer struck out: members never read them, in the FAQ or the interface.
STRUCK = {
    "kk": (
        "келісім комиссия",  # the Code and the union say «келісу комиссиясы»
        "мәжбүрлі прогул",  # «мәжбүрлі түрде жұмыс істемеген уақыт»
        # Art. 160: the 2 months to court run from receiving the copy of the decision ...
        "шешім шығарған күннен",
        "шешімінен бастап 2 ай",
        "шешімінен кейін 2 ай",
        # ... and going straight to court is no alternative offered to every worker.
        "комиссиясынсыз қаралса",
        # The status law's protections are worded as protections, with a lawyer to ask.
        "жазалауға негіз жоқ",
        "заң тыйым салады",
        "заңды тыйым салады",
        # Art. 85: "at the worker's choice" or "by agreement" is not settled (domain notes).
        "өз таңдауы бойынша",
        "таңдауыңыз бойынша",
        "қызметкердің таңдауы бойынша",
        # Art. 46: calendar or working days is not settled after the 2025-26 amendments.
        "15 күнтізбелік күн",
        # The attestation cycle's length and source are unsettled; never the status law's.
        "бес жылда бір рет",
        "5 жылда бір рет",
    ),
    "ru": (
        "со дня решения комиссии",
        "со дня решения согласительной комиссии",
        "рассматривается без согласительной комиссии",
        "оснований наказывать педагога",
        "«о статусе педагога» запрещает",
        "запрещает закон «о статусе педагога»",
        "по своему выбору",
        "по вашему выбору",
        "по выбору работника",
        "15 календарных дней",
        "одного раза в пять лет",
        "одного раза в 5 лет",
    ),
}


def test_struck_phrases_appear_nowhere_a_member_reads() -> None:
    from babel.messages.pofile import read_po

    faq = load_faq()
    root = Path(__file__).resolve().parent.parent
    for lang, phrases in STRUCK.items():
        shown: list[tuple[str, str]] = []
        for node in faq.nodes.values():
            shown.append((node.id, node.title_in(lang)))
            if node.is_answer:
                shown.append((node.id, node.answer_in(lang)))
                shown.extend((node.id, ref.text(lang)) for ref in node.refs)
        po = root / "bot" / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            shown.extend(("catalog", str(m.string)) for m in read_po(f, locale=lang) if m.id)
        for where, text in shown:
            for phrase in phrases:
                assert phrase not in text.lower(), (where, phrase)


def test_no_answer_claims_a_review_nobody_gave() -> None:
    from bot.handlers.member.faq import answer_text
    from bot.i18n import create_i18n

    i18n = create_i18n()
    faq = load_faq()
    lines = {"kk": "кәсіподақ заңгері әлі тексерген жоқ", "ru": "юрист профсоюза ещё не проверял"}
    for lang, line in lines.items():
        with i18n.context(), i18n.use_locale(lang):
            for answer in faq.answers:
                text = answer_text(answer, lang)
                assert line in text, (answer.id, lang)
                assert "тексерген:" not in text and "Проверено юристами" not in text


def test_russian_titles_are_gender_neutral() -> None:
    """A title is a button a woman taps as often as a man: no past-tense "I" forms."""
    gendered = ("получил ", "заболел ", "не прошёл", "не нашёл", "обязан ли я", "уволился")
    for node in load_faq().nodes.values():
        title = node.title_in("ru").lower()
        assert not any(word in title for word in gendered), (node.id, title)


def test_kazakh_sick_leave_document_is_named_by_its_full_term() -> None:
    """domain.md: «еңбекке уақытша жарамсыздық парағы»; «ауру парағы» at most once per text,
    in brackets right after the full term. Keywords (never shown) may hold the short form."""
    import re

    short = re.compile(r"ауру парағ")
    allowed = re.compile(r"жарамсыздық парағ\w* \(ауру парағ")
    for node in load_faq().nodes.values():
        texts = [node.title_in("kk")]
        if node.is_answer:
            texts.append(node.answer_in("kk"))
        for text in texts:
            lowered = text.lower()
            assert "уақытша еңбекке жарамсыздық" not in lowered, node.id
            uses = len(short.findall(lowered))
            assert uses <= 1, (node.id, text[:60])
            assert uses == len(allowed.findall(lowered)), (node.id, text[:60])


def test_one_register_capitalised_in_the_faq_and_the_interface() -> None:
    """«Сіз»/«Вы» are capitalised everywhere a member reads, as the interface does."""
    import re

    from babel.messages.pofile import read_po

    lowercase = {
        "ru": re.compile(r"(?<![\w-])(вы|вас|вам|вами|ваш\w*)(?![\w-])"),
        "kk": re.compile(r"(?<![\w-])(сіз\w*)(?![\w-])"),
    }
    faq = load_faq()
    root = Path(__file__).resolve().parent.parent
    for lang, pattern in lowercase.items():
        texts = [(n.id, n.title_in(lang)) for n in faq.nodes.values()]
        texts += [(n.id, n.answer_in(lang)) for n in faq.answers]
        po = root / "bot" / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            texts += [(str(m.id), str(m.string)) for m in read_po(f, locale=lang) if m.id]
        found = [(where, m.group(0)) for where, text in texts for m in pattern.finditer(text)]
        assert found == [], found[:5]


def test_one_citation_style() -> None:
    """«Еңбек кодексінің 160-бабы» and «ст. 160 ТК РК», in the text and the references."""
    import re

    other_styles = {
        "kk": re.compile(r"ЕК \d|ҚР Еңбек кодексі,|\(\d[\d,–\- ]*-бап(тар)?\)"),
        "ru": re.compile(
            r"Трудовой кодекс РК, |ст\. [\d,–\- ]+ Трудового кодекса|\(ст\. [\d,–\- ]+\)"
        ),
    }
    for answer in load_faq().answers:
        for lang, pattern in other_styles.items():
            texts = [answer.answer_in(lang), *(ref.text(lang) for ref in answer.refs)]
            found = [m.group(0) for text in texts for m in pattern.finditer(text)]
            assert found == [], (answer.id, lang, found)
