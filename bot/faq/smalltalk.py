"""Messages that are not questions: greetings, thanks, goodbyes, "ok", a lone "?" or
emoji. They get a short friendly answer instead of "nothing found, ask a lawyer".

A message counts only when every word in it is such a word (up to a few), so
"Сәлеметсіз бе, жалақы төленбейді" is still searched as a question.
"""

from __future__ import annotations

import enum
import re

from bot.faq.search import FOLD


class Talk(enum.Enum):
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"
    OK = "ok"
    EMPTY = "empty"  # punctuation or emoji only


# Folded (қ→к, ә→а, ё→е ...) and lower-cased, Kazakh and Russian, with the Latin spellings
# phones produce. Multi-word phrases are matched word by word: every word must be here.
def _words(text: str) -> frozenset[str]:
    return frozenset(word.translate(FOLD) for word in text.split())


WORDS: dict[Talk, frozenset[str]] = {
    Talk.GREETING: _words(
        """
        салем салеметсиз салеметсизбе сəлем салам саламатсызба салеметпе бе ассалаумагалейкум
        ассаламуагалейкум ассалаумагалейкум салаумагалейкум кайырлы кун тан кеш
        здравствуйте здраствуйте здрасте здравствуй привет приветствую добрый день доброе
        утро добрый вечер хаиырлы доброго времени суток как дела калайсыз калыныз калай
        жагдай кандай
        salem salemetsiz be privet zdravstvuite zdravstvuyte hello hi
        """
    ),
    Talk.THANKS: _words(
        """
        рахмет рахмат рахметт кеп көп коп улкен спасибо спс благодарю большое огромное
        очень благодарна благодарен rahmet rakhmet spasibo thanks thank you сизге сага вам
        """
    ),
    Talk.BYE: _words(
        """
        сау болыныз болыңыз сау бол кош келгенше до свидания свиданья пока всего доброго
        хорошего дня saubolynyz poka bye
        """
    ),
    Talk.OK: _words(
        """
        ок окей ok okay жаксы жарайды тусиниктi тусиникти тусиндим хорошо понятно ясно
        поняла понял ладно да иа иә ия ага угу
        """
    ),
}
FILLERS = _words("и ал же ну вам сизге тебе мен")
MAX_WORDS = 5
_WORD = re.compile(r"[a-zа-яәіңғүұқөһё]+", re.IGNORECASE)


def classify(text: str) -> Talk | None:
    """What kind of small talk the whole message is, or None for a question."""
    words = [w.translate(FOLD) for w in _WORD.findall(text.lower())]
    if not words:
        return None if any(ch.isdigit() for ch in text) else Talk.EMPTY
    if len(words) > MAX_WORDS:
        return None
    kinds = []
    for word in words:
        if word in FILLERS:
            continue
        kind = next((k for k, vocabulary in WORDS.items() if word in vocabulary), None)
        if kind is None:
            return None
        kinds.append(kind)
    if not kinds:
        return None
    # "Спасибо, до свидания": thanks wins over goodbye; a greeting with thanks is thanks.
    for kind in (Talk.THANKS, Talk.BYE, Talk.GREETING, Talk.OK):
        if kind in kinds:
            return kind
    return None
