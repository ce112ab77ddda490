"""The anonymiser: a member's question kept for the FAQ's editors (`question`) and a lawyer's
answer offered to the FAQ (`draft`) keep their wording and lose what identifies a person."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.anonymise import MASK, MAX_CHARS, draft
from bot.services.anonymise import question as anonymise

QUESTION = (
    "Айгүл Серикова, школа 12: не выплачивают отпускные перед отпуском. Директор Петров "
    "говорит ждать. Мой номер +7 (701) 123-45-67, почта aigul.s@mail.kz, ИИН 870101300123"
)


# --- a member's question ----------------------------------------------------------------


def test_contact_details_and_identifying_numbers_are_masked() -> None:
    text = anonymise(QUESTION, ["Айгүл", None])
    for gone in ("Айгүл", "Серикова", "Петров", "701", "45-67", "aigul", "mail.kz", "870101"):
        assert gone not in text, gone
    # The question's wording stays: what the editors need.
    assert "не выплачивают отпускные перед отпуском" in text
    assert "школа 12" in text and "Директор" in text and "ИИН" in text


def test_links_usernames_initials_and_declined_names() -> None:
    text = anonymise(
        "Пишу за Айгуль. Айгули сказали https://t.me/x и www.edu.kz, пишите @aigul_k. "
        "Приказ подписал И.И. Сидоренко",
        ["Айгуль"],
    )
    assert (
        text
        == f"Пишу за {MASK}. {MASK} сказали {MASK} и {MASK}, пишите {MASK}. Приказ подписал {MASK}"
    )


def test_what_is_no_one_s_stays() -> None:
    # The Labour Code, a region, a date, a year, a school year, an article, a sum of money.
    text = (
        "По ст. 54 Трудового кодекса РК в Алматы уволили 01.09.2025, в 2024-2025 учебном "
        "году не доплатили 150 000 тенге. Как быть?"
    )
    assert anonymise(text) == text


def test_kazakh_names_and_patronymics() -> None:
    text = anonymise("Мектеп директоры Серік Әлібекұлы демалыс бермейді. Жанар Қайратқызы айтты.")
    assert "Серік" not in text and "Әлібекұлы" not in text and "Қайратқызы" not in text
    assert "демалыс бермейді" in text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=900), st.lists(st.text(max_size=20), max_size=2))
def test_any_text_gives_a_short_text(text: str, names: list[str]) -> None:
    out = anonymise(text, names)
    assert len(out) <= MAX_CHARS


# --- a lawyer's draft -------------------------------------------------------------------


def test_a_draft_keeps_its_paragraphs_and_the_law_s_names() -> None:
    text = (
        "Айгүл, Еңбек кодексінің 68-бабына сәйкес жұмыс беруші демалыс ақысын үш күн бұрын "
        "төлеуі тиіс.\n\nАйгүлге кеңес: Мемлекеттік еңбек инспекциясына жазыңыз."
    )
    out = draft(text, ["Айгүл", "Серикова"])
    assert out == (
        f"{MASK}, Еңбек кодексінің 68-бабына сәйкес жұмыс беруші демалыс ақысын үш күн бұрын "
        f"төлеуі тиіс.\n\n{MASK} кеңес: Мемлекеттік еңбек инспекциясына жазыңыз."
    )


def test_a_draft_loses_the_member_s_name_spelt_in_russian_letters_too() -> None:
    out = draft(
        "Уважаемая Айгуль! Нурлан Серикович, Ваша жена Айгүлге говорила…",
        ["Айгүл Серікова", "Нұрлан"],
    )
    for gone in ("Айгуль", "Айгүлге", "Нурлан"):
        assert gone not in out, gone
    assert out.startswith("Уважаемая ")


def test_a_draft_loses_contact_details_and_identifying_numbers() -> None:
    out = draft(
        "Ивановой: позвоните мне +7 (701) 123-45-67 или напишите lawyer@union.kz, "
        "t.me/lawyer_x, @lawyer_x. ИИН 870101300123. По ст. 113 за 2024 год 150 000 тенге.",
        ["Иванова Мария"],
    )
    for gone in ("Иванов", "701", "45-67", "lawyer@", "union.kz", "lawyer_x", "870101"):
        assert gone not in out, gone
    assert "По ст. 113 за 2024 год 150 000 тенге." in out
