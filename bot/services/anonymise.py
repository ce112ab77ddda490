"""Text with what may identify a person masked, for what the union keeps beyond an appeal.

`question`: what a member typed before an FAQ answer did not help (kept for the FAQ's
editors, bot/services/faq_misses.py): contact details, numbers that identify someone,
initials, the member's own names in any form, and capitalised words that may be names;
whitespace collapsed, at most MAX_CHARS characters. `draft`: a lawyer's answer offered to
the FAQ (bot/services/faq_candidates.py): contact details, identifying numbers and the
member's names, paragraphs kept; a lawyer's capitalised words (laws, bodies) stay.

Both are heuristics: they mask what is shaped like personal data; what they let through
is the wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MAX_CHARS = 500  # of an anonymised question
MASK = "***"

_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    # a link's trailing punctuation belongs to the sentence
    r"(?:https?://|www\.)\S+?(?=[.,;:!?)»\"']*(?:\s|$))"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:kz|ru|com|org|net|me|io|edu|gov|info|su|рф|қаз)\b"
    r"(?:/\S*?(?=[.,;:!?)»\"']*(?:\s|$)))?",
    re.IGNORECASE,
)
_USERNAME = re.compile(r"(?<![\w@])@\w+")
# Digits as phone numbers, IINs and cards are written (spaces, dashes, brackets, a "+").
_NUMBER = re.compile(r"(?<![\w+])\+?\(?\d+(?:(?:[ \t\u00a0\-()]{1,2})\d+)*\)?")
_RUN = re.compile(r"\d{5,}")  # an IIN, an account, a phone typed without spaces
_PHONE_DIGITS = 7  # a local number has 7, a full one 10 to 12
_AMOUNT = re.compile(r"\d{1,3}(?:[ \u00a0]\d{3})+")  # 1 500 000: a sum of money stays
_YEARS = re.compile(r"(?:19|20)\d\d\s?[-–/]\s?(?:19|20)?\d\d")  # 2024-2025: a school year
# Initials: "И.И.", "A. B.", or one before a name ("И. Иванов").
_INITIAL = re.compile(
    rf"(?<![^\W\d_])[{_UPPER}]\.(?:\s?[{_UPPER}]\.){{1,2}}|(?<![^\W\d_])[{_UPPER}]\.(?=\s*[{_UPPER}])"
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# A capitalised word at a sentence's start is kept unless it looks like a surname or a
# patronymic (Russian and Kazakh endings).
_SURNAME = re.compile(
    r".{2,}(?:ов|ев|ёв|ин|ына|ова|ева|ёва|ина|ский|цкий|ская|цкая|енко|ович|евич|овна|евна"
    r"|ична|ұлы|улы|қызы|кызы|баев|баева)$",
    re.IGNORECASE,
)
# Capitalised words that name institutions, laws and places, not people (stems, lower case).
KNOWN_STEMS = (
    "трудов",
    "кодекс",
    "закон",
    "конституц",
    "казахстан",
    "қазақстан",
    "республик",
    "министер",
    "министрл",
    "минпрос",
    "минобр",
    "акимат",
    "әкімд",
    "әкімшілі",
    "управлен",
    "басқарма",
    "образован",
    "білім",
    "профсоюз",
    "кәсіподақ",
    "прокурат",
    "инспекц",
    "еңбек",
    "школ",
    "мектеп",
    "гимназ",
    "лицей",
    "колледж",
    "университет",
    "департамент",
    "комитет",
    "комиссия",
    "отдел",
    "бөлім",
    "суд",
    "сот",
    "астан",
    "алмат",
    "шымкент",
    "караганд",
    "қарағанд",
    "актоб",
    "ақтөб",
    "атырау",
    "павлодар",
    "семей",
    "костанай",
    "қостанай",
    "кызылорд",
    "қызылорд",
    "тараз",
    "туркестан",
    "түркістан",
    "уральск",
    "орал",
    "петропавл",
    "кокшетау",
    "көкшетау",
    "талдыкорган",
    "талдықорған",
    "усть-каменогорск",
    "өскемен",
    "жезказган",
    "жезқазған",
    "конаев",
    "қонаев",
    "актау",
    "ақтау",
    "telegram",
    "whatsapp",
    "google",
    "egov",
    "kaspi",
    "kundelik",
    "күнделік",
    "күнделик",
    "excel",
    "word",
)
_KNOWN_EXACT = frozenset({"рк", "қр", "рф", "ип", "тоо", "кгу", "гу", "ао", "вуз", "жоо"})
_SENTENCE_END = ".!?…\n"
_OPENING = "«\"'“„([—–-"


def question(text: str, names: Iterable[str | None] = ()) -> str:
    """`text` without what may identify someone, at most MAX_CHARS characters: e-mail
    addresses, links, @usernames, numbers of 5 digits or more and phone-shaped ones,
    initials, `names` (the member's own first and last name, in any case and form) and
    capitalised words that are not a sentence's first word, unless known as an
    institution's or a place's. Adjacent masks become one; whitespace is collapsed."""
    spans: list[tuple[int, int]] = []
    for pattern in (_EMAIL, _URL, _USERNAME, _INITIAL):
        spans += [m.span() for m in pattern.finditer(text)]
    spans += [m.span() for m in _NUMBER.finditer(text) if _identifies(m.group())]
    own = _name_stems(names)
    for word in _WORD.finditer(text):
        start, end = word.span()
        if any(a < end and start < b for a, b in spans):
            continue
        value = word.group()
        lower = value.lower()
        if any(lower.startswith(stem) and len(lower) - len(stem) <= 4 for stem in own) or (
            _looks_like_a_name(value)
            and not _known(lower)
            and (not _sentence_start(text, start) or _SURNAME.match(value))
        ):
            spans.append((start, end))
    return _cap(_collapse(_masked(text, spans)))


def _identifies(number: str) -> bool:
    """Phone-shaped, or a long run of digits; not a year, a date's parts, a school year or
    a sum written in groups of three."""
    if _RUN.search(number):
        return True
    digits = sum(c.isdigit() for c in number)
    if number.startswith("+"):
        return digits >= 5
    return (
        digits >= _PHONE_DIGITS and not _AMOUNT.fullmatch(number) and not _YEARS.fullmatch(number)
    )


_VOWEL_ENDS = "аяоеёиыуюьйәөұүі"
# A Kazakh name written in Russian letters (Айгүл / Айгуль, Нұрлан / Нурлан) is the same
# name: both sides are compared with the Kazakh letters folded.
_KAZAKH_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")


def _folded(word: str) -> str:
    return word.translate(_KAZAKH_FOLD)


def _name_stems(names: Iterable[str | None]) -> list[str]:
    """A name's parts as they start its declined forms: Айгуль → айгул (Айгули, Айгулю),
    Айгүл → айгүл (Айгүлге). Parts under 3 letters are left alone."""
    stems = []
    for name in names:
        for piece in re.split(r"[\s\-]+", (name or "").lower()):
            part = "".join(c for c in piece if c.isalpha())
            if len(part) < 3:
                continue
            stems.append(part[:-1] if len(part) >= 4 and part[-1] in _VOWEL_ENDS else part)
    return stems


def _looks_like_a_name(word: str) -> bool:
    # Capitalised, the rest with lower-case letters: not an abbreviation such as ИИН or РОНО.
    return word[0].isupper() and any(c.islower() for c in word[1:])


def _known(lower: str) -> bool:
    return lower in _KNOWN_EXACT or lower.startswith(KNOWN_STEMS)


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and (text[i] in " \t\r" or text[i] in _OPENING):
        i -= 1
    if i < 0 or text[i] == "\n":
        return True
    if text[i] not in _SENTENCE_END:
        return False
    # "И. Иванов": a dot after a single capital letter ends an initial, not a sentence.
    return not (text[i] == "." and i >= 1 and text[i - 1].isupper() and _alone(text, i - 1))


def _alone(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalpha()


def _masked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        out.append(text[at : max(start, at)])
        out.append(MASK)
        at = end
    out.append(text[at:])
    return "".join(out)


_REPEATED = re.compile(re.escape(MASK) + r"(?:[\s\-]*" + re.escape(MASK) + r")+")


def _collapse(text: str) -> str:
    return _REPEATED.sub(MASK, " ".join(text.split()))


def _cap(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rstrip() + "…"


def draft(text: str, names: Iterable[str | None] = ()) -> str:
    """`text` without contact details, identifying numbers and the member's names (in any
    case ending); paragraphs and the rest of the wording kept."""
    spans: list[tuple[int, int]] = []
    for pattern in (_EMAIL, _URL, _USERNAME):
        spans += [m.span() for m in pattern.finditer(text)]
    spans += [m.span() for m in _NUMBER.finditer(text) if _identifies(m.group())]
    own = [_folded(stem) for stem in _name_stems(names)]
    for word in _WORD.finditer(text):
        lower = _folded(word.group().lower())
        if any(lower.startswith(stem) and len(lower) - len(stem) <= 4 for stem in own):
            spans.append(word.span())
    return _REPEATED.sub(MASK, _masked(text, spans))
