"""Free-text search: the held-out question set and the behaviours it must have."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.faq.content import load_faq
from bot.faq.search import FaqIndex, fold

QUESTIONS = Path(__file__).parent / "data" / "search_questions.yaml"


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex(load_faq())


def top_topics(index: FaqIndex, query: str) -> list[str]:
    return [hit.node.topic for hit in index.search(query, limit=3)]


def test_question_set_right_topic_in_top3_at_least_92_percent(index: FaqIndex) -> None:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    assert len(questions) >= 60
    assert {q["lang"] for q in questions} == {"kk", "ru"}
    misses = [
        (q["q"], q["topic"], top_topics(index, q["q"]))
        for q in questions
        if q["topic"] not in top_topics(index, q["q"])
    ]
    rate = 1 - len(misses) / len(questions)
    assert rate >= 0.92, f"{rate:.1%} right; misses: {misses}"


def test_questions_on_the_newer_answers_find_that_very_answer(index: FaqIndex) -> None:
    """Questions written without seeing the answers, each naming the answer it should find
    (not only its topic): that answer among the first three."""
    questions = [q for q in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")) if "node" in q]
    assert len(questions) >= 40
    assert {q["node"] for q in questions} <= set(load_faq().nodes)
    misses = [
        (q["q"], q["node"], [hit.node.id for hit in index.search(q["q"], limit=3)])
        for q in questions
        if q["node"] not in [hit.node.id for hit in index.search(q["q"], limit=3)]
    ]
    rate = 1 - len(misses) / len(questions)
    assert rate >= 0.92, f"{rate:.1%} right; misses: {misses}"


@pytest.mark.parametrize(
    "query",
    ["демалыс", "демалысы", "демалысқа", "демалысымды", "демалыска"],
)
def test_kazakh_word_forms_and_missing_special_letters(index: FaqIndex, query: str) -> None:
    assert "leave" in top_topics(index, query)


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("зарплта не пришла", "pay"),
        ("увольнили по сокращению", "dismissal"),
        ("жалакы кешигип жатыр", "pay"),
        ("отпск 56 дней", "leave"),
    ],
)
def test_typos(index: FaqIndex, query: str, topic: str) -> None:
    assert topic in top_topics(index, query)


def test_question_in_the_other_language_finds_the_same_answer(index: FaqIndex) -> None:
    ru = index.search("дисциплинарное взыскание выговор", limit=1)
    kk = index.search("тәртіптік жаза сөгіс", limit=1)
    assert ru and kk and ru[0].node.topic == kk[0].node.topic == "discipline"


def test_empty_and_noise_queries_give_nothing(index: FaqIndex) -> None:
    assert index.search("") == []
    assert index.search("??? !!! ...") == []
    assert index.search("и в на") == []


def test_fold_maps_kazakh_letters() -> None:
    assert fold("ҚАЗАҚСТАН әңгүұөһі") == "казакстан ангууохи"
