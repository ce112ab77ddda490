"""Free-text FAQ search for Kazakh and Russian questions as people type them on phones.

- Kazakh special letters are folded (қ→к, ә→а, ...) on both sides, so a question typed
  without them matches, and Russian loan words spelled either way meet.
- Every answer is indexed in both languages: the interface language does not matter.
- Word forms (демалыс / демалысы / демалысқа) match through prefix terms of several
  lengths: agglutinative Kazakh endings and Russian inflections both sit at the end.
- Typos match through a rapidfuzz pass over the vocabulary for words the index lacks.
Scores are BM25 over weighted fields (title, keywords, subtopic, answer text).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.faq.content import LANGS, Faq, Node

FOLD = str.maketrans(
    {
        "ә": "а",
        "і": "и",
        "ң": "н",
        "ғ": "г",
        "ү": "у",
        "ұ": "у",
        "қ": "к",
        "ө": "о",
        "һ": "х",
        "ё": "е",
        "й": "и",
    }
)
TOKEN_RE = re.compile(r"[a-zа-я0-9]+")
# Prefix lengths used as terms, with how much a match at that level is worth.
LEVELS = ((0, 1.0), (7, 0.95), (6, 0.9), (5, 0.8), (4, 0.55))
FIELD_WEIGHTS = {"title": 3.0, "keywords": 2.5, "context": 1.0, "answer": 1.0}
K1, B = 1.2, 0.5
FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 80.0
FUZZY_WEIGHT = 0.85

# Words that carry no topic, folded. Kazakh and Russian, as members write them.
STOPWORDS = frozenset(
    [
        "и",
        "в",
        "во",
        "на",
        "не",
        "что",
        "как",
        "мне",
        "я",
        "меня",
        "мой",
        "моя",
        "мое",
        "мои",
        "у",
        "по",
        "с",
        "со",
        "за",
        "а",
        "это",
        "ли",
        "или",
        "же",
        "бы",
        "то",
        "но",
        "из",
        "к",
        "ко",
        "от",
        "до",
        "для",
        "при",
        "о",
        "об",
        "про",
        "так",
        "уже",
        "еще",
        "ещё",
        "да",
        "нет",
        "есть",
        "был",
        "была",
        "были",
        "быть",
        "будет",
        "его",
        "ее",
        "их",
        "они",
        "он",
        "она",
        "мы",
        "вы",
        "ты",
        "вам",
        "нам",
        "вас",
        "нас",
        "всё",
        "все",
        "если",
        "когда",
        "где",
        "какие",
        "какой",
        "какая",
        "можно",
        "нужно",
        "надо",
        "ли",
        "чтобы",
        "который",
        "которая",
        "почему",
        "зачем",
        "сколько",
        "что-то",
        "там",
        "тут",
        "вот",
        "очень",
        "могут",
        "может",
        "должен",
        "должны",
        "мен",
        "сен",
        "ол",
        "биз",
        "сиз",
        "олар",
        "бул",
        "осы",
        "сол",
        "мен",
        "мына",
        "ма",
        "ме",
        "ба",
        "бе",
        "па",
        "пе",
        "ма",
        "ше",
        "гой",
        "гои",
        "жане",
        "мен",
        "да",
        "де",
        "та",
        "те",
        "ба",
        "бар",
        "жок",
        "кандаи",
        "калаи",
        "не",
        "неге",
        "кашан",
        "канша",
        "кимге",
        "кайда",
        "бола",
        "ма",
        "болады",
        "бола",
        "ала",
        "ма",
        "ме",
        "бе",
        "сол",
        "бир",
        "еди",
        "едим",
        "кере",
        "керек",
        "пе",
    ]
)


def fold(text: str) -> str:
    return text.lower().translate(FOLD)


def tokenize(text: str) -> list[str]:
    return [t for t in TOKEN_RE.findall(fold(text)) if t not in STOPWORDS]


def _terms(token: str) -> list[tuple[str, float]]:
    terms = [(f"0:{token}", 1.0)]
    for length, weight in LEVELS[1:]:
        if len(token) > length:
            terms.append((f"{length}:{token[:length]}", weight))
        elif len(token) == length:
            # A short word is its own prefix: index it at this level at full value.
            terms.append((f"{length}:{token}", 1.0))
    return terms


@dataclass(frozen=True)
class Hit:
    node: Node
    score: float

    def as_json(self, lang: str) -> dict[str, object]:
        return {
            "id": self.node.id,
            "topic": self.node.topic,
            "title": self.node.title_in(lang),
            "score": round(self.score, 3),
        }


class FaqIndex:
    def __init__(self, faq: Faq) -> None:
        self.faq = faq
        self.docs: list[Node] = faq.answers
        postings: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        lengths: list[float] = []
        vocabulary: set[str] = set()
        for doc_no, node in enumerate(self.docs):
            length = 0.0
            for field_name, text in self._fields(node):
                weight = FIELD_WEIGHTS[field_name]
                for token in tokenize(text):
                    vocabulary.add(token)
                    length += weight
                    for term, _ in _terms(token):
                        postings[term][doc_no] += weight
            lengths.append(length)
        avg = sum(lengths) / len(lengths) if lengths else 1.0
        n_docs = len(self.docs)
        # Precompute BM25 term weights per (term, doc) as arrays: a query then only takes
        # element-wise maxima and sums, in numpy.
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, docs in postings.items():
            idf = math.log(1 + (n_docs - len(docs) + 0.5) / (len(docs) + 0.5))
            self.postings[term] = (
                np.fromiter(docs.keys(), dtype=np.int32, count=len(docs)),
                np.fromiter(
                    (
                        idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[d] / avg))
                        for d, tf in docs.items()
                    ),
                    dtype=np.float64,
                    count=len(docs),
                ),
            )
        # Fuzzy candidates by word length: fuzz.ratio >= 80 needs lengths within a factor
        # of 1.5 of each other, so only those are compared.
        self.by_length: dict[int, list[str]] = defaultdict(list)
        for word in sorted(vocabulary):
            self.by_length[len(word)].append(word)
        self._windows: dict[int, list[str]] = {}

    @staticmethod
    def _fields(node: Node) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        context = [p for p in node.path()[:-1]]
        for lang in LANGS:
            fields.append(("title", node.title_in(lang)))
            fields.append(("keywords", " ".join(node.keywords.get(lang, []))))
            fields.extend(("context", p.title_in(lang)) for p in context)
            fields.append(("answer", node.answer_in(lang)))
        return fields

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        tokens = list(dict.fromkeys(tokenize(query)))[:30]
        if not tokens:
            return []
        scores = np.zeros(len(self.docs))
        best = np.zeros(len(self.docs))
        for token in tokens:
            # A token counts once per answer, at its best-matching level.
            best.fill(0.0)
            for term, weight in self._expand(token):
                docs, values = self.postings[term]
                np.maximum.at(best, docs, values * weight)
            scores += best
        if limit < len(scores):
            top = np.argpartition(-scores, limit)[:limit]
        else:
            top = np.arange(len(scores))
        ranked = sorted(top.tolist(), key=lambda d: (-scores[d], d))
        return [Hit(self.docs[d], float(scores[d])) for d in ranked if scores[d] > 0]

    def _window(self, size: int) -> list[str]:
        """Vocabulary words a word of `size` letters can be 80 % similar to (lengths
        within 1.5 times), built once per size."""
        window = self._windows.get(size)
        if window is None:
            window = self._windows[size] = [
                word
                for length in range(math.ceil(size / 1.5), math.floor(size * 1.5) + 1)
                for word in self.by_length.get(length, ())
            ]
        return window

    def _expand(self, token: str) -> list[tuple[str, float]]:
        terms = [(t, w) for t, w in _terms(token) if t in self.postings]
        if f"0:{token}" not in self.postings and len(token) >= FUZZY_MIN_LEN:
            candidates = self._window(len(token))
            for word, similarity, _ in process.extract(
                token, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=3
            ):
                terms.append((f"0:{word}", FUZZY_WEIGHT * similarity / 100))
        return terms
