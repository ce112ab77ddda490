"""Synthetic demo data: members, lawyers, appeals with outcomes, conversations, FAQ events.

    python -m bot demo-data --members N --appeals M [--seed S] [--no-conversations] [--force]

Two years of activity up to `now`, all drawn with numpy from one seed (the same seed gives
the same data on SQLite and PostgreSQL) and written in batches with SQLAlchemy Core
executemany, so a million appeals take about a minute and memory stays flat. Appeals are
generated day by day in order, so their ids follow their creation time as in real life.

Demo people have negative Telegram ids (real ones are positive): that is how the tool
tells them apart, refuses to mix demo data into a database with real members (unless
forced) and reuses its own lawyers on a second run. No personal data is invented: names
and usernames of members stay empty, texts are short generic sentences.

The figures follow the union's own (domain.md): 34,201 appeals considered in 2024 with
717 conciliation commissions, 52 court cases, 24 reinstated, 2,653 inspections finding
4,828 violations; consultations about 70 %; pay the most common topic.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.faq.content import CONTENT_DIR, Faq, check_faq
from bot.services.calendar import load_holidays
from bot.storage.models import (
    Appeal,
    AppealMessage,
    FaqEvent,
    Feedback,
    Member,
    ReportTallyState,
    Staff,
    StaffRole,
    UTCDateTime,
)
from bot.topics import TOPICS, MemberOrgs, default_member_orgs

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

DAY = 86_400.0
HOUR = 3_600.0
SPAN_DAYS = 730  # two years up to now
TZ = ZoneInfo("Asia/Almaty")
BATCH = 10_000  # appeals (or events) per transaction: bounded memory, few commits
PG_WRITERS = 2  # PostgreSQL connections writing at once (SQLite has one writer)

APPEALS_TABLE: Table = Appeal.__table__  # type: ignore[assignment]
MEMBERS_TABLE: Table = Member.__table__  # type: ignore[assignment]
STAFF_TABLE: Table = Staff.__table__  # type: ignore[assignment]
MESSAGES_TABLE: Table = AppealMessage.__table__  # type: ignore[assignment]
EVENTS_TABLE: Table = FaqEvent.__table__  # type: ignore[assignment]
FEEDBACK_TABLE: Table = Feedback.__table__  # type: ignore[assignment]

# --- Who the members are ------------------------------------------------------------------

# Relative size of each member organisation (roughly its region's population, millions);
# used when the organisations file gives no membership figures.
ORG_WEIGHTS = {
    "almaty": 2.3,
    "turkistan": 2.1,
    "almaty-region": 1.5,
    "astana": 1.5,
    "shymkent": 1.3,
    "jambyl": 1.2,
    "karaganda": 1.1,
    "aktobe": 0.95,
    "kyzylorda": 0.85,
    "kostanay": 0.83,
    "akmola": 0.79,
    "mangystau": 0.78,
    "pavlodar": 0.75,
    "east-kz": 0.73,
    "atyrau": 0.7,
    "west-kz": 0.69,
    "jetisu": 0.69,
    "abai": 0.61,
    "north-kz": 0.53,
    "ulytau": 0.22,
}
KK_SHARE = 0.6
WORKPLACES = ("school", "kindergarten", "college", "university", "research")
WORKPLACE_SHARES = (0.62, 0.2, 0.1, 0.06, 0.02)
LAUNCH_SHARE = 0.2  # members who joined in the bot's first two weeks
LAWYERS = 46  # the union's staff lawyers (domain.md), at least one per organisation

# --- When things happen -------------------------------------------------------------------

# Appeals per month, January first: the school year starts in September (loads, pay for
# the new year), January brings the new pay rates; July is the pedagogues' leave.
MONTH_WEIGHTS = (1.3, 1.0, 0.95, 0.9, 0.9, 0.75, 0.45, 1.0, 1.55, 1.35, 1.05, 0.95)
LATE_AUGUST = (20, 1.7)  # from the 20th of August the new school year is near
WEEKDAY_WEIGHTS = (1.15, 1.05, 1.0, 1.0, 0.95, 0.5, 0.4)  # Monday first
# Activity per local hour: teachers write after lessons and in the evening.
HOUR_WEIGHTS = (
    *(0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.3, 0.8),
    *(1.3, 1.6, 1.7, 1.6, 1.4, 1.5, 1.6, 1.6),
    *(1.5, 1.3, 1.2, 1.3, 1.4, 1.2, 0.8, 0.4),
)
GROWTH = (0.75, 1.25)  # the bot is used more as members learn of it

# --- What appeals are about ---------------------------------------------------------------

TOPIC_WEIGHTS = {
    "pay": 30.0,
    "working-time": 13.0,
    "leave": 10.0,
    "dismissal": 8.0,
    "contract": 7.0,
    "attestation": 6.5,
    "pedagogue-status": 6.0,
    "social": 5.0,
    "discipline": 4.0,
    "disputes": 3.0,
    "safety": 2.5,
    "collective-agreement": 1.5,
    "membership": 1.5,
    "other": 2.0,
}
# Seasonal shifts of the topic mix: month (1-12) -> factor.
TOPIC_MONTHS = {
    "pay": {1: 1.2, 9: 1.1},
    "leave": {5: 1.5, 6: 1.6, 7: 1.4, 8: 1.2},
    "working-time": {8: 1.3, 9: 1.5, 1: 1.2},
    "attestation": {3: 1.3, 4: 1.4, 5: 1.4},
    "dismissal": {6: 1.4, 7: 1.4, 8: 1.3},
}
FAQ_MISS_SHARE = 0.4
CHANNEL_SHARES = (("electronic", 0.97), ("written", 0.02), ("oral", 0.01))
HIDE_SHARE = 0.3

# --- How appeals are handled --------------------------------------------------------------

CLAIM_MEDIAN, CLAIM_SIGMA = 6 * HOUR, 0.95
ANSWER_MEDIAN, ANSWER_SIGMA = 4 * HOUR, 0.9
CLOSE_MEDIAN, CLOSE_SIGMA = 3 * DAY, 0.8
MAX_FIRST_ANSWER = 10 * DAY
MAX_CLOSE = 30 * DAY
# Open appeals beyond those naturally in progress: likelihood by age, A*exp(-age/tau), plus
# a floor in the last half year (long cases, slow regions); with the natural ones about 4 %
# of all appeals are open.
STALL_A, STALL_TAU_DAYS, STALL_FLOOR = 0.75, 30.0, 0.004
STALL_STATUSES = (("queued", 0.2), ("claimed", 0.2), ("answered", 0.45), ("reopened", 0.15))
SLA_DAYS = 2  # working days to the first answer (Settings.sla_first_answer_days)
SCAN_JITTER = 300.0  # the desk's clock runs every few minutes
IDLE_GUARD = 4 * DAY  # open claims had a lawyer's message recently (no idle release)
HEAD_SHARE = 0.01  # appeals the head of the legal inspection takes on directly
REOPEN_SHARE = 0.01
FOLLOW_UP_SHARE = 0.25
NOTE_SHARE = 0.1

# --- Outcomes (shares of closed appeals) --------------------------------------------------

CONSULTATION = 0.70
OUTSIDE_OTHER, OUTSIDE_REST = 0.5, 0.018  # outside competence: mostly topic "other"
JUSTIFIED_TARGET = (0.35, 0.25)  # True, False; None otherwise
INSPECTION = 2653 / 34201
VIOLATIONS = (0.45, 0.35, 0.12, 0.08)  # 1..4 violations per inspection, mean 1.83
REMEDIED = 0.8
CONCILIATION = 717 / 34201
COURT = 52 / 34201
COURT_WON = 0.7
MEDIATION = 0.005
REINSTATED = 24 / 34201  # dismissal appeals only
# Conciliation commissions and courts are mostly about dismissals and disputes.
LITIGATION_TOPICS = {"dismissal": 5.0, "disputes": 6.0, "discipline": 2.0, "pay": 1.2}
LITIGATION_REST = 0.4
MONEY_TOPICS = ("pay", "social", "leave")
MONEY_SHARE = 0.06
MONEY_MEDIAN, MONEY_SIGMA, MONEY_RANGE = 120_000.0, 0.8, (20_000.0, 900_000.0)
EXTRA_SHARE, EXTRA_MEDIAN = 0.4, 50_000.0  # economic effect beyond the money returned
DEDUCTION_SHARE, DEDUCTION_MEDIAN = 0.015, 60_000.0  # an unlawful deduction cancelled
FORCED_ABSENCE_MEDIAN = 700_000.0  # pay for forced absence of a reinstated worker
RATED = 0.65
RATING_SHARES = (0.05, 0.05, 0.10, 0.25, 0.55)  # 1..5
RATING_COMMENT = 0.08

# --- FAQ self-service, per appeal ---------------------------------------------------------

VIEWED, FEEDBACKS, SEARCH_SHOWN = 8.0, 2.5, 3.0  # feedbacks: helped 2.0 + not-helped 0.5
HELPFULNESS = (8.0, 2.0)  # beta distribution of an answer's "helped" share, mean 0.8
MAILBOX_SHARE = 0.02
MAILBOX_KINDS = (("suggestion", 0.45), ("complaint", 0.25), ("thanks", 0.3))
ANONYMOUS = 0.3

# --- Texts (kk, ru): generic, no personal data --------------------------------------------

APPEAL_TEXTS: dict[str, tuple[tuple[str, str], ...]] = {
    "pay": (
        (
            "Жалақы уақытында төленбеді, не істеуім керек?",
            "Зарплату выплатили с задержкой, что делать?",
        ),
        ("Санат үшін үстемеақы есептелмей жатыр.", "Не начисляют доплату за категорию."),
    ),
    "working-time": (
        ("Жүктемені келісімімсіз көбейтті.", "Нагрузку увеличили без моего согласия."),
        ("Демалыс күні жұмысқа шақырады.", "Вызывают на работу в выходной день."),
    ),
    "leave": (
        (
            "Демалыс ақысы демалыс басталғанша төленбеді.",
            "Отпускные не выплатили до начала отпуска.",
        ),
        ("Демалысты келісімімсіз ауыстырды.", "Отпуск перенесли без моего согласия."),
    ),
    "dismissal": (
        (
            "Қысқарту туралы ескерту алдым, құқықтарым қандай?",
            "Получила уведомление о сокращении, какие у меня права?",
        ),
        (
            "Өз еркіммен арыз жазуға мәжбүрлеп жатыр.",
            "Заставляют написать заявление по собственному желанию.",
        ),
    ),
    "contract": (
        (
            "Еңбек шартын мерзімді шартқа ауыстырғысы келеді.",
            "Хотят переоформить трудовой договор на срочный.",
        ),
        ("Жұмыс орнынан анықтама бермей жатыр.", "Работодатель не выдаёт справку с места работы."),
    ),
    "discipline": (
        ("Түсініктеме сұрамай сөгіс берді.", "Объявили выговор, не запросив объяснения."),
        (
            "Жазаны алты айдан кейін берді, бұл заңды ма?",
            "Взыскание наложили спустя полгода, это законно?",
        ),
    ),
    "disputes": (
        (
            "Келісу комиссиясына қалай жүгінуге болады?",
            "Как обратиться в согласительную комиссию?",
        ),
        ("Сотқа жүгіну мерзімі қандай?", "Какие сроки обращения в суд?"),
    ),
    "attestation": (
        (
            "Аттестациядан кейін санат үстемеақысы төленбейді.",
            "После аттестации не платят надбавку за категорию.",
        ),
        (
            "Аттестация мерзімін өткізіп алдым, не болады?",
            "Пропустила срок аттестации, что теперь?",
        ),
    ),
    "pedagogue-status": (
        (
            "Міндетіме жатпайтын есептер талап етеді.",
            "Требуют отчёты, не относящиеся к моим обязанностям.",
        ),
        ("Мектепте ақылы іс-шараға мәжбүрлейді.", "В школе заставляют оплачивать мероприятия."),
    ),
    "safety": (
        ("Сырқатнама бойынша төлем толық емес.", "Больничный оплатили не полностью."),
        ("Жұмыста жарақат алдым, акт жасалмады.", "Получила травму на работе, акт не составили."),
    ),
    "social": (
        ("Сауықтыру жәрдемақысы төленбеді.", "Не выплатили пособие на оздоровление."),
        ("Ауылдық үстемеақы тоқтатылды.", "Перестали платить сельскую надбавку."),
    ),
    "collective-agreement": (
        (
            "Ұжымдық шарттың орындалуын қалай тексеруге болады?",
            "Как проверить выполнение коллективного договора?",
        ),
        ("Ұжымдық шартпен танысуға бермейді.", "Не дают ознакомиться с коллективным договором."),
    ),
    "membership": (
        ("Кәсіподақ жарнасы қалай ұсталады?", "Как удерживаются профсоюзные взносы?"),
        ("Материалдық көмекті қалай алуға болады?", "Как получить материальную помощь?"),
    ),
    "other": (
        ("Зейнетақы жарналары туралы сұрақ.", "Вопрос о пенсионных отчислениях."),
        ("Салық шегерімі туралы сұрақ.", "Вопрос о налоговом вычете."),
    ),
}
ANSWERS = (
    (
        "Сәлеметсіз бе! Өтінішіңіз қаралды. Жұмыс берушіге жазбаша өтініш беріңіз, "
        "Еңбек кодексінің тиісті бабына сілтеме жасаңыз.",
        "Здравствуйте! Ваше обращение рассмотрено. Подайте работодателю письменное "
        "заявление со ссылкой на статью Трудового кодекса.",
    ),
    (
        "Сәлеметсіз бе! Жағдайыңыз бойынша құжаттарды (бұйрық, шарт) жіберіңіз, "
        "бірге қарастырамыз.",
        "Здравствуйте! Пришлите, пожалуйста, документы по вашему вопросу "
        "(приказ, договор), разберём вместе.",
    ),
    (
        "Сәлеметсіз бе! Жұмыс берушінің әрекеті заңға сәйкес емес. Біз оған сұрау жібереміз.",
        "Здравствуйте! Действия работодателя не соответствуют закону. Мы направим ему запрос.",
    ),
)
FOLLOW_UPS = (
    (
        "Рахмет! Жұмыс беруші жауап бермесе, не істеймін?",
        "Спасибо! А если работодатель не ответит?",
    ),
    (
        "Бұл жағдайда бізге қайта жазыңыз, бірге шешеміз.",
        "В таком случае напишите нам снова, решим вместе.",
    ),
)
NOT_SOLVED = ("Мәселе әлі шешілген жоқ.", "Вопрос пока не решён.")
AFTER_REOPEN = (
    "Жұмыс берушімен қайта байланыстық, нәтижесін хабарлаймыз.",
    "Мы повторно связались с работодателем, сообщим о результате.",
)
NOTES = (
    ("Жұмыс берушіге сұрау жіберу керек.", "Нужно направить запрос работодателю."),
    ("Ұқсас жағдай осы ұйымда бұрын болған.", "Похожий случай в этой организации уже был."),
)
RATING_COMMENTS = (
    ("Жауапты ұзақ күттім.", "Ответа пришлось ждать долго."),
    ("Рахмет, жауап нақты әрі түсінікті болды.", "Спасибо, ответ был чётким и понятным."),
)
MAILBOX_TEXTS = {
    "suggestion": (
        ("Демалыс туралы сұрақ-жауапты толықтырыңыз.", "Добавьте в FAQ больше об отпусках."),
        (
            "Кәсіподақ жаңалықтарын апта сайын жіберіңіз.",
            "Присылайте новости профсоюза каждую неделю.",
        ),
    ),
    "complaint": (
        ("Өңірдегі заңгер ұзақ жауап береді.", "Юрист в нашем регионе долго отвечает."),
        ("Ботта менің сұрағым бойынша жауап жоқ.", "В боте нет ответа на мой вопрос."),
    ),
    "thanks": (
        ("Заңгерлерге көмегі үшін рахмет!", "Спасибо юристам за помощь!"),
        ("Жалақы мәселесі шешілді, рахмет!", "Вопрос с зарплатой решён, спасибо!"),
    ),
}

EMPTY_JSON = "[]"  # attachments, as the JSON text the column stores
STATUSES = ("queued", "claimed", "answered", "closed", "reopened")
QUEUED, CLAIMED, ANSWERED, CLOSED, REOPENED = range(5)
NO_TIME = np.nan  # an unset timestamp while computing


class DemoRefused(Exception):
    """The database holds real members (positive Telegram ids) and force was not given."""


@dataclass
class DemoSummary:
    members: int = 0
    appeals: int = 0
    open_appeals: int = 0
    staff_created: int = 0
    messages: int = 0
    faq_events: int = 0
    feedback: int = 0

    def line(self, seconds: float) -> str:
        return (
            f"demo data: {self.members} members, {self.appeals} appeals "
            f"({self.open_appeals} open), {self.staff_created} new staff, "
            f"{self.messages} messages, {self.faq_events} FAQ events, "
            f"{self.feedback} mailbox items in {seconds:.1f} s"
        )


def check_numbers(members: int, appeals: int, seed: int = 1) -> str | None:
    """What is wrong with the requested sizes, or None."""
    if members < 0 or appeals < 0:
        return "--members and --appeals must be zero or more"
    if members == 0 and appeals > 0:
        return "appeals need members: give --members 1 or more"
    if seed < 0:
        return "--seed must be zero or more"
    return None


# --- Time ---------------------------------------------------------------------------------


@dataclass
class _Days:
    """The local days of the two-year window, with how busy each is."""

    now: float  # epoch seconds
    start: float
    starts: Floats  # local midnight of each day, epoch seconds
    dates: npt.NDArray[np.datetime64]
    month: Ints  # 1..12
    f_lo: Floats  # diurnal mass before the window opens on that day
    f_hi: Floats  # diurnal mass before the window closes on that day
    weights: Floats  # relative activity of each day (share of the day inside the window)
    f_grid: Floats
    sec_grid: Floats

    @classmethod
    def build(cls, now: datetime) -> _Days:
        end = now.timestamp()
        start = end - SPAN_DAYS * DAY
        first = datetime.fromtimestamp(start, TZ).date()
        last = datetime.fromtimestamp(end, TZ).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        starts = np.array([datetime.combine(d, clock(0), TZ).timestamp() for d in days])
        hours = np.array(HOUR_WEIGHTS, dtype=np.float64)
        f_grid = np.concatenate(([0.0], np.cumsum(hours) / hours.sum()))
        sec_grid = np.arange(25, dtype=np.float64) * HOUR
        lo = np.clip(start - starts, 0.0, DAY)
        hi = np.clip(end - starts, 0.0, DAY)
        f_lo = np.interp(lo, sec_grid, f_grid)
        f_hi = np.interp(hi, sec_grid, f_grid)
        month = np.array([d.month for d in days], dtype=np.int64)
        season = np.array(
            [
                (LATE_AUGUST[1] if d.month == 8 and d.day >= LATE_AUGUST[0] else 1.0)
                * MONTH_WEIGHTS[d.month - 1]
                * WEEKDAY_WEIGHTS[d.weekday()]
                for d in days
            ]
        )
        growth = np.linspace(GROWTH[0], GROWTH[1], len(days))
        return cls(
            now=end,
            start=start,
            starts=starts,
            dates=np.array(days, dtype="datetime64[D]"),
            month=month,
            f_lo=f_lo,
            f_hi=f_hi,
            weights=season * growth * (f_hi - f_lo),
            f_grid=f_grid,
            sec_grid=sec_grid,
        )

    def counts(self, rng: np.random.Generator, total: int, weights: Floats | None = None) -> Ints:
        w = self.weights if weights is None else weights
        return rng.multinomial(total, w / w.sum()).astype(np.int64)

    def times(
        self, rng: np.random.Generator, counts: Ints, d0: int, d1: int
    ) -> tuple[Floats, Ints]:
        """Sorted moments (epoch seconds) for counts[d] events on each day d0..d1-1."""
        day = np.repeat(np.arange(d0, d1, dtype=np.int64), counts[d0:d1])
        mass = self.f_lo[day] + rng.random(len(day)) * (self.f_hi[day] - self.f_lo[day])
        moment = self.starts[day] + np.interp(mass, self.f_grid, self.sec_grid)
        moment = np.clip(moment, self.start, self.now - 1.0)
        order = np.argsort(moment, kind="stable")
        return moment[order], day[order]


def _day_batches(counts: Ints, size: int) -> Iterator[tuple[int, int, int]]:
    """Runs of whole days holding about `size` events: (first day, end day, events)."""
    start, acc = 0, 0
    for i, count in enumerate(counts.tolist()):
        acc += count
        if acc >= size:
            yield start, i + 1, acc
            start, acc = i + 1, 0
    if acc:
        yield start, len(counts), acc


def _stamps(seconds: Floats, sqlite: bool) -> list[Any]:
    """Epoch seconds (NaN for none) as the driver takes timestamps, whole microseconds:
    on SQLite the text SQLAlchemy's DateTime stores (UTC, "YYYY-MM-DD HH:MM:SS.ffffff"),
    on PostgreSQL aware UTC datetimes."""
    missing = np.isnan(seconds)
    micros = np.round(np.where(missing, 0.0, seconds) * 1e6).astype(np.int64)
    moments = micros.astype("datetime64[us]")
    values: list[Any]
    if sqlite:
        values = [s.replace("T", " ") for s in np.datetime_as_string(moments, unit="us").tolist()]
    else:
        values = [d.replace(tzinfo=UTC) for d in moments.tolist()]
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def _nullable(values: npt.NDArray[Any], present: Bools) -> list[Any]:
    out = values.astype(object)
    out[~present] = None
    return out.tolist()  # type: ignore[no-any-return]


def _pick(rng: np.random.Generator, shares: Sequence[float], n: int) -> Ints:
    cdf = np.cumsum(np.asarray(shares, dtype=np.float64))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


# --- What the generator knows -------------------------------------------------------------


@dataclass
class _Lawyers:
    by_org: Ints  # (orgs, max per org) staff ids, padded
    per_org: Ints
    head: int
    created: int = 0


@dataclass
class _Members:
    created: Floats  # epoch seconds, ascending
    org: Ints
    workplace: Ints
    lang: Ints  # 0 kk, 1 ru
    first_id: int = 1


@dataclass
class _Generator:
    days: _Days
    seed: int
    org_ids: list[str]
    org_weights: Floats
    faq_answers: dict[str, list[str]]  # topic -> answer ids, most popular first
    members: _Members
    lawyers: _Lawyers | None = None
    sqlite: bool = True
    topics: list[str] = field(default_factory=lambda: list(TOPICS))

    @property
    def no_files(self) -> Any:
        """An empty attachments list as the bulk table takes it (text on SQLite)."""
        return EMPTY_JSON if self.sqlite else []

    def stamps(self, seconds: Floats) -> list[Any]:
        return _stamps(seconds, self.sqlite)

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream])

    # Topic mix per month (12 x topics), cumulative.
    def topic_cdf(self) -> Floats:
        base = np.array([TOPIC_WEIGHTS.get(t, 1.0) for t in self.topics])
        rows = []
        for month in range(1, 13):
            w = base * np.array([TOPIC_MONTHS.get(t, {}).get(month, 1.0) for t in self.topics])
            rows.append(np.cumsum(w) / w.sum())
        cdf = np.array(rows)
        cdf[:, -1] = 1.0
        return cdf

    def topic_shares(self) -> Floats:
        base = np.array([TOPIC_WEIGHTS.get(t, 1.0) for t in self.topics])
        return base / base.sum()  # type: ignore[no-any-return]


def _org_weights(orgs: MemberOrgs) -> Floats:
    known = [o.members for o in orgs.orgs if o.members > 0]
    if known:
        fill = float(np.mean(known))
        w = [float(o.members) if o.members > 0 else fill for o in orgs.orgs]
    else:
        fill = float(np.median(list(ORG_WEIGHTS.values())))
        w = [ORG_WEIGHTS.get(o.id, fill) for o in orgs.orgs]
    arr = np.array(w, dtype=np.float64)
    return arr / arr.sum()  # type: ignore[no-any-return]


def _lawyer_plan(weights: Floats) -> list[int]:
    """Lawyers per organisation: one each, the rest by size (largest remainder)."""
    n = len(weights)
    extra = max(LAWYERS, n) - n
    quota = weights * extra
    counts = np.floor(quota).astype(np.int64)
    rest = extra - int(counts.sum())
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[:rest]] += 1
    return [int(c) + 1 for c in counts]


def _faq_answers(faq: Faq, rng: np.random.Generator) -> dict[str, list[str]]:
    """Answer ids per topic in a seeded popularity order (the first is asked most)."""
    out: dict[str, list[str]] = {}
    for topic in TOPICS:
        ids = sorted(n.id for n in faq.answers if n.topic == topic)
        out[topic] = [ids[i] for i in rng.permutation(len(ids))] if ids else []
    return out


@cache
def _default_faq() -> Faq:
    faq, _problems = check_faq(CONTENT_DIR)  # problems only mean fewer node ids here
    return faq


def _zipf(n: int) -> Floats:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** 0.9
    return w / w.sum()  # type: ignore[no-any-return]


# --- Rows ---------------------------------------------------------------------------------


def _member_rows(gen: _Generator, i0: int, i1: int, tg_base: int) -> list[dict[str, Any]]:
    m = gen.members
    n = i1 - i0
    rng = gen.rng(100 + i0 // BATCH)
    created = gen.stamps(m.created[i0:i1])
    idx = np.arange(i0, i1, dtype=np.int64)
    org_ids = np.array(gen.org_ids, dtype=object)
    return _rows(
        {
            "id": (m.first_id + idx).tolist(),
            "telegram_id": (tg_base - 1 - idx).tolist(),
            "language": np.where(m.lang[i0:i1] == 0, "kk", "ru").tolist(),
            "member_org": org_ids[m.org[i0:i1]].tolist(),
            "workplace_type": np.array(WORKPLACES, dtype=object)[m.workplace[i0:i1]].tolist(),
            "full_name": [None] * n,
            "username": [None] * n,
            "consent_version": ["1"] * n,
            "consent_at": created,
            "news_opt_out": (rng.random(n) < 0.04).tolist(),
            "active": (rng.random(n) >= 0.02).tolist(),
            "created_at": created,
        }
    )


@dataclass
class _Batch:
    appeals: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    open: int


def _working_deadline(
    gen: _Generator, day: Ints, moment: Floats, days: int, holidays: Any
) -> Floats:
    """`days` working days after the moment, in Almaty local time (calendar.py's rule)."""
    local = gen.days.dates[day]
    working = np.is_busday(local, holidays=holidays)
    target = np.busday_offset(local, days, roll="forward", holidays=holidays)
    shift = (target - local).astype(np.int64) * DAY
    since_midnight = moment - gen.days.starts[day]
    return gen.days.starts[day] + shift + np.where(working, since_midnight, 0.0)


def _appeal_batch(
    gen: _Generator,
    rng: np.random.Generator,
    talk: np.random.Generator | None,
    counts: Ints,
    d0: int,
    d1: int,
    first_id: int,
    holidays: Any,
) -> _Batch:
    days = gen.days
    assert gen.lawyers is not None
    t, day = days.times(rng, counts, d0, d1)
    n = len(t)
    now = days.now - 1.0
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    org = m.org[member]
    lang = m.lang[member]

    # What it is about, how it came.
    cdf = gen.topic_cdf()[days.month[day] - 1]
    topic = np.minimum((rng.random(n)[:, None] >= cdf).sum(axis=1), len(gen.topics) - 1)
    channel = _pick(rng, [s for _, s in CHANNEL_SHARES], n)
    miss = (channel == 0) & (rng.random(n) < FAQ_MISS_SHARE / CHANNEL_SHARES[0][1])
    node = np.full(n, None, dtype=object)
    u_node = rng.random(n)
    for ti, topic_id in enumerate(gen.topics):
        answer_ids = gen.faq_answers.get(topic_id) or []
        rows = miss & (topic == ti)
        if answer_ids and rows.any():
            cum = np.cumsum(_zipf(len(answer_ids)))
            pick = np.searchsorted(cum, u_node[rows], side="right")
            node[rows] = np.array(answer_ids, dtype=object)[np.minimum(pick, len(answer_ids) - 1)]
    variant = rng.integers(0, 2, n)
    texts = np.array([[APPEAL_TEXTS[tp][v] for v in range(2)] for tp in gen.topics], dtype=object)
    appeal_text = texts[topic, variant, lang]
    hide = rng.random(n) < HIDE_SHARE

    # The lifecycle: natural durations; what has not happened by now is still to come.
    claim_d = rng.lognormal(math.log(CLAIM_MEDIAN), CLAIM_SIGMA, n)
    answer_d = rng.lognormal(math.log(ANSWER_MEDIAN), ANSWER_SIGMA, n)
    scale = np.minimum(1.0, MAX_FIRST_ANSWER / (claim_d + answer_d))
    claimed = t + claim_d * scale
    answered = claimed + answer_d * scale
    closed = answered + np.minimum(rng.lognormal(math.log(CLOSE_MEDIAN), CLOSE_SIGMA, n), MAX_CLOSE)
    status = np.full(n, CLOSED, dtype=np.int64)
    status[closed > now] = ANSWERED
    status[answered > now] = CLAIMED
    status[claimed > now] = QUEUED
    # Stalled cases: mostly recent, a few old ones.
    age_days = (now - t) / DAY
    stall_p = STALL_A * np.exp(-age_days / STALL_TAU_DAYS) + STALL_FLOOR * (age_days < 180)
    stalled = (status == CLOSED) & (rng.random(n) < stall_p)
    stall_status = np.array([QUEUED, CLAIMED, ANSWERED, REOPENED])[
        _pick(rng, [s for _, s in STALL_STATUSES], n)
    ]
    status = np.where(stalled, stall_status, status)
    # An open claim had a lawyer's action lately (an idle one goes back to the queue).
    recent = now - rng.random(n) * IDLE_GUARD
    claimed = np.where(status == CLAIMED, np.maximum(claimed, recent), claimed)

    has_claim = np.isin(status, (CLAIMED, ANSWERED, CLOSED))
    has_answer = np.isin(status, (ANSWERED, CLOSED, REOPENED))
    is_closed = status == CLOSED
    open_rows = ~is_closed

    # Reopening: closed ones reopened once and closed again; open "reopened" ones.
    reopen_closed = is_closed & (rng.random(n) < REOPEN_SHARE)
    u_reopen = rng.random(n)
    reopened_at = np.full(n, NO_TIME)
    reopened_at[reopen_closed] = (answered + (closed - answered) * (0.3 + 0.3 * u_reopen))[
        reopen_closed
    ]
    is_reopened = status == REOPENED
    reopened_at[is_reopened] = (answered + (now - answered) * (0.3 + 0.65 * u_reopen))[is_reopened]

    # The lawyer's last message: the first answer, a follow-up, or after a reopening.
    follow_up = is_closed & ~reopen_closed & (rng.random(n) < FOLLOW_UP_SHARE)
    u_last = rng.random(n)
    last = np.where(has_answer, answered, NO_TIME)
    last = np.where(follow_up, answered + (closed - answered) * (0.2 + 0.5 * u_last), last)
    last = np.where(
        reopen_closed, reopened_at + (closed - reopened_at) * (0.2 + 0.6 * u_last), last
    )
    last = np.where(status == ANSWERED, np.maximum(answered, recent), last)

    # Who: a lawyer of the member's organisation, now and then the head lawyer.
    lw = gen.lawyers
    lawyer = lw.by_org[org, (rng.random(n) * lw.per_org[org]).astype(np.int64)]
    lawyer = np.where(rng.random(n) < HEAD_SHARE, lw.head, lawyer)

    # The desk's clock: notices, half-way reminders and breaches of the first-answer SLA.
    notified = t + rng.random(n) * np.minimum(SCAN_JITTER, claimed - t)
    waited_until = np.where(has_answer, answered, now)
    half_due = _working_deadline(gen, day, t, SLA_DAYS // 2, holidays)  # half-way reminder
    due = _working_deadline(gen, day, t, SLA_DAYS, holidays)
    jitter = rng.random(n) * SCAN_JITTER
    half_at = np.where(
        half_due < waited_until, np.minimum(half_due + jitter, waited_until), NO_TIME
    )
    breached_at = np.where(due < waited_until, np.minimum(due + jitter, waited_until), NO_TIME)

    # Outcomes of closed appeals.
    u = rng.random((11, n))
    shares = gen.topic_shares()
    ti_other = gen.topics.index("other")
    outside = is_closed & (u[0] < np.where(topic == ti_other, OUTSIDE_OTHER, OUTSIDE_REST))
    eligible = is_closed & ~outside
    base_share = 1.0 - float(
        shares[ti_other] * OUTSIDE_OTHER + (1 - shares[ti_other]) * OUTSIDE_REST
    )
    litigation = np.array([LITIGATION_TOPICS.get(tp, LITIGATION_REST) for tp in gen.topics])
    litigation = litigation / float((shares * litigation).sum()) / base_share
    consultation = is_closed & (u[1] < CONSULTATION)
    inspection = eligible & (u[2] < INSPECTION / base_share)
    found = np.where(
        inspection, 1 + np.searchsorted(np.cumsum(VIOLATIONS)[:-1], u[3], side="right"), 0
    )
    remedied = rng.binomial(found, REMEDIED)
    conciliation = eligible & (u[4] < CONCILIATION * litigation[topic])
    court = eligible & (u[5] < COURT * litigation[topic])
    court_won = court & (u[6] < COURT_WON)
    mediation = eligible & (u[7] < MEDIATION / base_share)
    ti_dismissal = gen.topics.index("dismissal")
    reinstated = (
        eligible
        & (topic == ti_dismissal)
        & (u[8] < REINSTATED / float(shares[ti_dismissal]) / base_share)
    )
    conciliation |= reinstated & ~court  # reinstated by a commission or a court
    money_topics = np.isin(topic, [gen.topics.index(tp) for tp in MONEY_TOPICS])
    has_money = eligible & money_topics & (u[9] < MONEY_SHARE / base_share)
    amount = np.clip(
        rng.lognormal(math.log(MONEY_MEDIAN), MONEY_SIGMA, n), MONEY_RANGE[0], MONEY_RANGE[1]
    )
    money = np.where(has_money, np.round(amount / 100.0) * 100, 0.0).astype(np.int64)
    forced = inspection | has_money | reinstated | court_won
    forced_share = float(forced.sum()) / max(int(eligible.sum()), 1)
    p_true = max(JUSTIFIED_TARGET[0] / base_share - forced_share, 0.0) / (1 - forced_share)
    p_false = JUSTIFIED_TARGET[1] / base_share / (1 - forced_share)
    justified = np.full(n, None, dtype=object)
    justified[eligible & (u[10] < p_true + p_false)] = False
    justified[eligible & (u[10] < p_true)] = True
    justified[forced] = True
    u_effect = rng.random((2, n))
    extra = np.round(rng.lognormal(math.log(EXTRA_MEDIAN), 0.8, n) / 100.0) * 100
    absence = np.round(rng.lognormal(math.log(FORCED_ABSENCE_MEDIAN), 0.5, n) / 100.0) * 100
    deduction = np.round(rng.lognormal(math.log(DEDUCTION_MEDIAN), 0.7, n) / 100.0) * 100
    effect = money.astype(np.float64)
    effect += np.where(has_money & (u_effect[0] < EXTRA_SHARE), extra, 0.0)
    effect += np.where(reinstated, absence, 0.0)
    effect += np.where(
        eligible & ~has_money & (justified == True) & (u_effect[1] < DEDUCTION_SHARE),  # noqa: E712
        deduction,
        0.0,
    )

    # The member's rating.
    rated = is_closed & (rng.random(n) < RATED)
    rating = 1 + _pick(rng, RATING_SHARES, n)
    commented = rated & (rng.random(n) < RATING_COMMENT)
    comments = np.array(RATING_COMMENTS, dtype=object)[(rating >= 4).astype(np.int64), lang]

    ids = first_id + np.arange(n, dtype=np.int64)
    member_ids = m.first_id + member
    org_names = np.array(gen.org_ids, dtype=object)[org]
    created_dt = gen.stamps(t)
    appeals = _rows(
        {
            "id": ids.tolist(),
            "member_id": member_ids.tolist(),
            "member_org": org_names.tolist(),
            "workplace_type": np.array(WORKPLACES, dtype=object)[m.workplace[member]].tolist(),
            "topic": np.array(gen.topics, dtype=object)[topic].tolist(),
            "text": appeal_text.tolist(),
            "attachments": [gen.no_files] * n,
            "hide_from_employer": hide.tolist(),
            "status": np.array(STATUSES, dtype=object)[status].tolist(),
            "source": np.where(miss, "faq-miss", "direct").tolist(),
            "channel": np.array([c for c, _ in CHANNEL_SHARES], dtype=object)[channel].tolist(),
            "faq_node": node.tolist(),
            "language": np.where(lang == 0, "kk", "ru").tolist(),
            "created_at": created_dt,
            "claimed_by": _nullable(lawyer, has_claim),
            "claimed_at": gen.stamps(np.where(has_claim, claimed, NO_TIME)),
            "first_answer_at": gen.stamps(np.where(has_answer, answered, NO_TIME)),
            "closed_at": gen.stamps(np.where(is_closed, closed, NO_TIME)),
            "rating": _nullable(rating, rated),
            "rating_comment": _nullable(comments, commented),
            "reopened_at": gen.stamps(reopened_at),
            "reopen_count": (reopen_closed | is_reopened).astype(np.int64).tolist(),
            "notified_at": gen.stamps(notified),
            "sla_half_at": gen.stamps(half_at),
            "sla_breached_at": gen.stamps(breached_at),
            "last_lawyer_at": gen.stamps(last),
            "outcome_consultation": consultation.tolist(),
            "outcome_justified": justified.tolist(),
            "outcome_conciliation": conciliation.tolist(),
            "outcome_court": court.tolist(),
            "outcome_court_won": _nullable(court_won, court),
            "outcome_mediation": mediation.tolist(),
            "outcome_reinstated": reinstated.tolist(),
            "outcome_inspection": inspection.tolist(),
            "outcome_outside_competence": outside.tolist(),
            "violations_found": found.tolist(),
            "violations_remedied": remedied.tolist(),
            "money_returned_kzt": money.tolist(),
            "economic_effect_kzt": effect.astype(np.int64).tolist(),
        }
    )
    if talk is None:
        return _Batch(appeals, [], [], int(open_rows.sum()))

    # The conversation: (row, side, author or -1, text, moment) parts, then in thread order.
    parts: list[tuple[Ints, str, Ints, Objects, Floats]] = []
    every = np.arange(n, dtype=np.int64)
    nobody = np.full(n, -1, dtype=np.int64)

    def add(rows: Bools, side: str, author: Ints, words: Objects, moment: Floats) -> None:
        parts.append((every[rows], side, author[rows], words[rows], moment[rows]))

    pick = talk.integers(0, len(ANSWERS), n)
    answers = np.array(ANSWERS, dtype=object)[pick, lang]
    follow = np.array(FOLLOW_UPS, dtype=object)
    add(every >= 0, "member", nobody, appeal_text, t)
    add(has_answer, "lawyer", lawyer, answers, answered)
    extra_pair = has_answer & ~reopen_closed & (last > answered)
    add(extra_pair, "member", nobody, follow[0][lang], answered + (last - answered) * 0.5)
    add(extra_pair, "lawyer", lawyer, follow[1][lang], last)
    reopen_rows = reopen_closed | is_reopened
    add(reopen_rows, "member", nobody, np.array(NOT_SOLVED, dtype=object)[lang], reopened_at)
    add(reopen_closed, "lawyer", lawyer, np.array(AFTER_REOPEN, dtype=object)[lang], last)
    noted = has_claim & (talk.random(n) < NOTE_SHARE)
    note_at = np.where(
        has_answer,
        claimed + (answered - claimed) * 0.5,
        claimed + np.minimum(600.0, now - claimed) * talk.random(n),
    )
    notes = np.array(NOTES, dtype=object)[talk.integers(0, len(NOTES), n), lang]
    add(noted, "note", lawyer, notes, note_at)

    row = np.concatenate([p[0] for p in parts])
    moment = np.concatenate([p[4] for p in parts])
    order = np.lexsort((moment, row))
    row = row[order]
    author = np.concatenate([p[2] for p in parts])[order]
    messages = _rows(
        {
            "appeal_id": (first_id + row).tolist(),
            "side": np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])[
                order
            ].tolist(),
            "author_staff_id": _nullable(author, author >= 0),
            "text": np.concatenate([p[3] for p in parts])[order].tolist(),
            "attachments": [gen.no_files] * len(row),
            "sent_at": gen.stamps(moment[order]),
        }
    )

    # FAQ misses: the answer did not help, and the member wrote to a lawyer.
    missed = miss & (node != None)  # noqa: E711
    before = np.maximum(t - 60.0 - talk.random(n) * 840.0, m.created[member])
    ev_at = np.concatenate([before[missed], t[missed]])
    ev_rows = np.concatenate([every[missed], every[missed]])
    kinds = ["not-helped"] * int(missed.sum()) + ["led-to-appeal"] * int(missed.sum())
    events = _rows(
        {
            "node_id": node[ev_rows].tolist(),
            "kind": kinds,
            "member_id": member_ids[ev_rows].tolist(),
            "member_org": org_names[ev_rows].tolist(),
            "at": gen.stamps(ev_at),
        }
    )
    return _Batch(appeals, messages, events, int(open_rows.sum()))


def _self_service_batch(
    gen: _Generator,
    rng: np.random.Generator,
    counts: Ints,
    d0: int,
    d1: int,
    nodes: Objects,
    popularity: Floats,
    helpfulness: Floats,
) -> list[dict[str, Any]]:
    t, _day = gen.days.times(rng, counts, d0, d1)
    n = len(t)
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    node = np.minimum(
        np.searchsorted(np.cumsum(popularity), rng.random(n), side="right"), len(nodes) - 1
    )
    total = VIEWED + SEARCH_SHOWN + FEEDBACKS
    u = rng.random(n)
    helped = rng.random(n) < helpfulness[node]
    kind = np.where(
        u < VIEWED / total,
        "viewed",
        np.where(
            u < (VIEWED + SEARCH_SHOWN) / total,
            "search-shown",
            np.where(helped, "helped", "not-helped"),
        ),
    )
    return _rows(
        {
            "node_id": nodes[node].tolist(),
            "kind": kind.tolist(),
            "member_id": (m.first_id + member).tolist(),
            "member_org": np.array(gen.org_ids, dtype=object)[m.org[member]].tolist(),
            "at": gen.stamps(t),
        }
    )


def _mailbox_rows(
    gen: _Generator, rng: np.random.Generator, counts: Ints, d0: int, d1: int
) -> list[dict[str, Any]]:
    t, _day = gen.days.times(rng, counts, d0, d1)
    n = len(t)
    m = gen.members
    k = np.maximum(np.searchsorted(m.created, t, side="right"), 1)
    member = (rng.random(n) * k).astype(np.int64)
    kind = _pick(rng, [s for _, s in MAILBOX_KINDS], n)
    names = [name for name, _ in MAILBOX_KINDS]
    texts = np.array([MAILBOX_TEXTS[name] for name in names], dtype=object)
    anonymous = rng.random(n) < ANONYMOUS
    return _rows(
        {
            "member_id": _nullable(m.first_id + member, ~anonymous),
            "member_org": np.array(gen.org_ids, dtype=object)[m.org[member]].tolist(),
            "kind": np.array(names, dtype=object)[kind].tolist(),
            "anonymous": anonymous.tolist(),
            "text": texts[kind, rng.integers(0, 2, n), m.lang[member]].tolist(),
            "created_at": gen.stamps(t),
        }
    )


# --- The database -------------------------------------------------------------------------


async def _reserve_ids(conn: AsyncConnection, table: str, count: int) -> int:
    """The id after which `count` ids are ours. PostgreSQL: the sequence moves past them
    first, so the bot's own inserts (and later ones) never collide with them."""
    if conn.dialect.name != "postgresql":
        return int(await conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0)
    seq = f"pg_get_serial_sequence('{table}', 'id')"
    current = await conn.scalar(
        text(
            f"SELECT GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), "
            f"COALESCE(pg_sequence_last_value({seq}::regclass), 0))"
        )
    )
    base = int(current or 0)
    if count > 0:
        await conn.execute(text(f"SELECT setval({seq}, :value)"), {"value": base + count})
    return base


async def _ensure_lawyers(conn: AsyncConnection, gen: _Generator, created: datetime) -> _Lawyers:
    """Demo lawyers (negative Telegram ids) per organisation and one head lawyer; those of
    an earlier run are reused."""
    plan = _lawyer_plan(gen.org_weights)
    existing = (
        await conn.execute(
            select(Staff.id, Staff.role, Staff.member_orgs)
            .where(Staff.telegram_id < 0, Staff.active.is_(True))
            .order_by(Staff.id)
        )
    ).all()
    have: dict[str, int] = {}
    head_exists = False
    for _id, role, orgs in existing:
        if role == StaffRole.HEAD_LAWYER:
            head_exists = True
        elif role == StaffRole.LAWYER and orgs:
            have[str(orgs[0])] = have.get(str(orgs[0]), 0) + 1
    lowest = await conn.scalar(select(func.min(Staff.telegram_id)))
    next_tg = min(int(lowest or 0), 0) - 1
    rows: list[dict[str, Any]] = []
    for org_id, wanted in zip(gen.org_ids, plan, strict=True):
        for k in range(have.get(org_id, 0), wanted):
            rows.append(
                {
                    "telegram_id": next_tg,
                    "role": StaffRole.LAWYER.value,
                    "member_orgs": [org_id],
                    "full_name": f"Demo lawyer {org_id} {k + 1}",
                    "active": True,
                    "created_at": created,
                }
            )
            next_tg -= 1
    if not head_exists:
        rows.append(
            {
                "telegram_id": next_tg,
                "role": StaffRole.HEAD_LAWYER.value,
                "member_orgs": [],
                "full_name": "Demo head lawyer",
                "active": True,
                "created_at": created,
            }
        )
    if rows:
        await conn.execute(insert(STAFF_TABLE), rows)
    staff = (
        await conn.execute(
            select(Staff.id, Staff.role, Staff.member_orgs)
            .where(Staff.telegram_id < 0, Staff.active.is_(True))
            .order_by(Staff.id)
        )
    ).all()
    per_org: dict[str, list[int]] = {org_id: [] for org_id in gen.org_ids}
    head = None
    for staff_id, role, orgs in staff:
        if role == StaffRole.HEAD_LAWYER and head is None:
            head = int(staff_id)
        elif role == StaffRole.LAWYER and orgs and str(orgs[0]) in per_org:
            per_org[str(orgs[0])].append(int(staff_id))
    assert head is not None
    width = max(1, *(len(v) for v in per_org.values()))
    by_org = np.full((len(gen.org_ids), width), head, dtype=np.int64)
    counts = np.zeros(len(gen.org_ids), dtype=np.int64)
    for i, org_id in enumerate(gen.org_ids):
        ids = per_org[org_id] or [head]  # an inactive region's lawyers: the head takes it
        by_org[i, : len(ids)] = ids
        counts[i] = len(ids)
    return _Lawyers(by_org, counts, head, created=len(rows))


Parts = list[tuple[Table, list[dict[str, Any]]]]


def _all_rows(
    gen: _Generator,
    summary: DemoSummary,
    appeals: int,
    first_appeal: int,
    tg_base: int,
    conversations: bool,
    holidays: Any,
) -> Iterator[Parts | None]:
    """Every row to write, a transaction's worth at a time, in a fixed order (so a seed
    always gives the same data); counts go to the summary as they are made."""
    members = len(gen.members.created)
    seed = gen.seed
    for i0 in range(0, members, 2 * BATCH):
        yield [(MEMBERS_TABLE, _member_rows(gen, i0, min(i0 + 2 * BATCH, members), tg_base))]
    yield None  # the members are in before their appeals

    rng = np.random.default_rng([seed, 3])
    talk = np.random.default_rng([seed, 4]) if conversations else None
    counts = gen.days.counts(rng, appeals)
    next_id = first_appeal
    for d0, d1, _n in _day_batches(counts, BATCH):
        batch = _appeal_batch(gen, rng, talk, counts, d0, d1, next_id, holidays)
        next_id += len(batch.appeals)
        summary.open_appeals += batch.open
        summary.messages += len(batch.messages)
        summary.faq_events += len(batch.events)
        yield [
            (APPEALS_TABLE, batch.appeals),
            (MESSAGES_TABLE, batch.messages),
            (EVENTS_TABLE, batch.events),
        ]

    answers = [a for topic in gen.topics for a in gen.faq_answers.get(topic, [])]
    if conversations and answers and members:
        ev_rng = np.random.default_rng([seed, 5])
        shares = gen.topic_shares()
        popularity = np.concatenate(
            [
                shares[i] * _zipf(len(gen.faq_answers[tp]))
                for i, tp in enumerate(gen.topics)
                if gen.faq_answers.get(tp)
            ]
        )
        popularity /= popularity.sum()
        helpfulness = ev_rng.beta(HELPFULNESS[0], HELPFULNESS[1], len(answers))
        total = round(appeals * (VIEWED + SEARCH_SHOWN + FEEDBACKS))
        ev_counts = gen.days.counts(ev_rng, total)
        nodes = np.array(answers, dtype=object)
        for d0, d1, _n in _day_batches(ev_counts, 2 * BATCH):
            rows = _self_service_batch(
                gen, ev_rng, ev_counts, d0, d1, nodes, popularity, helpfulness
            )
            summary.faq_events += len(rows)
            yield [(EVENTS_TABLE, rows)]

    mailbox = round(appeals * MAILBOX_SHARE)
    if mailbox and members:
        mail_rng = np.random.default_rng([seed, 6])
        mail_counts = gen.days.counts(mail_rng, mailbox)
        for d0, d1, _n in _day_batches(mail_counts, 2 * BATCH):
            rows = _mailbox_rows(gen, mail_rng, mail_counts, d0, d1)
            summary.feedback += len(rows)
            yield [(FEEDBACK_TABLE, rows)]


@cache
def _bulk_table(table: Table, sqlite: bool) -> Table:
    """The same table with types that take values as the driver wants them, so a million
    rows skip SQLAlchemy's per-value conversions: timestamps come pre-made (see _stamps),
    enums as their text; on SQLite JSON as its text and booleans as the integers it stores
    (asyncpg casts a text parameter to varchar, which a json column does not take)."""
    columns = []
    for column in table.columns:
        kind: Any = column.type
        if isinstance(kind, UTCDateTime):
            kind = String() if sqlite else DateTime(timezone=True)
        elif isinstance(kind, Enum) or (isinstance(kind, JSON) and sqlite):
            kind = String()
        elif isinstance(kind, Boolean) and sqlite:
            kind = Integer()
        columns.append(Column(column.name, kind, primary_key=column.primary_key))
    return Table(table.name, MetaData(), *columns)


async def _write_all(
    engine: AsyncEngine, conn: AsyncConnection, parts: Iterator[Parts | None]
) -> None:
    """Write each part in a transaction of its own while the next ones are made in a worker
    thread (the driver and the server work outside the GIL meanwhile). PostgreSQL takes
    parts on two connections at once; None from `parts` waits until everything before it
    is committed (appeals need their members)."""
    sqlite = conn.dialect.name == "sqlite"
    writers = 1 if sqlite else PG_WRITERS
    queue: asyncio.Queue[Parts | None] = asyncio.Queue(maxsize=writers)
    done = object()

    async def write(connection: AsyncConnection) -> None:
        while (current := await queue.get()) is not None:
            try:
                async with connection.begin():
                    for table, rows in current:
                        if rows:
                            await connection.execute(insert(_bulk_table(table, sqlite)), rows)
            finally:
                queue.task_done()
        queue.task_done()

    async def extra_writer() -> None:
        async with engine.connect() as connection:
            await write(connection)

    tasks = [asyncio.ensure_future(write(conn))]
    tasks += [asyncio.ensure_future(extra_writer()) for _ in range(writers - 1)]
    try:
        while (current := await asyncio.to_thread(next, parts, done)) is not done:
            if current is None:
                await _join(queue, tasks)
            else:
                await _put(queue, current, tasks)  # type: ignore[arg-type]
        for _ in tasks:
            await _put(queue, None, tasks)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _put(queue: asyncio.Queue[Parts | None], item: Parts | None, tasks: list[Any]) -> None:
    """queue.put, but a writer's failure stops the producer at once."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait([put, *tasks], return_when=asyncio.FIRST_COMPLETED)
    _raise_failed(tasks)
    await put


async def _join(queue: asyncio.Queue[Parts | None], tasks: list[Any]) -> None:
    joined = asyncio.ensure_future(queue.join())
    await asyncio.wait([joined, *tasks], return_when=asyncio.FIRST_COMPLETED)
    _raise_failed(tasks)
    await joined


def _raise_failed(tasks: list[Any]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            raise error


def _draw_members(
    gen_rng: np.random.Generator, days: _Days, count: int, weights: Floats
) -> _Members:
    launch = days.weights.copy()
    launch[:14] += days.weights.sum() * LAUNCH_SHARE / (1 - LAUNCH_SHARE) / 14
    counts = days.counts(gen_rng, count, launch)
    created, _day = days.times(gen_rng, counts, 0, len(counts))
    if count:
        created[0] = days.start  # someone is there when the first appeal comes
    org = _pick(gen_rng, weights.tolist(), count)
    workplace = _pick(gen_rng, WORKPLACE_SHARES, count)
    lang = (gen_rng.random(count) >= KK_SHARE).astype(np.int64)
    return _Members(created, org, workplace, lang)


async def fill_demo(
    engine: AsyncEngine,
    *,
    members: int,
    appeals: int,
    seed: int = 1,
    conversations: bool = True,
    force: bool = False,
    now: datetime | None = None,
    orgs: MemberOrgs | None = None,
    faq: Faq | None = None,
) -> DemoSummary:
    """Write demo data; raises DemoRefused if real members exist and not force, ValueError
    on impossible sizes. The schema must be migrated already."""
    problem = check_numbers(members, appeals, seed)
    if problem:
        raise ValueError(problem)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    orgs = orgs or default_member_orgs()
    faq = faq if faq is not None else _default_faq()
    days = _Days.build(now)
    weights = _org_weights(orgs)
    gen = _Generator(
        days=days,
        seed=seed,
        org_ids=[o.id for o in orgs.orgs],
        org_weights=weights,
        faq_answers=_faq_answers(faq, np.random.default_rng([seed, 1])),
        members=_draw_members(np.random.default_rng([seed, 2]), days, members, weights),
    )
    holidays = np.array(sorted(load_holidays()), dtype="datetime64[D]")
    summary = DemoSummary(members=members, appeals=appeals)

    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a bigger page cache keeps the appeal indexes in memory while growing
            await conn.exec_driver_sql("PRAGMA cache_size = -65536")
            await conn.commit()
        try:
            async with conn.begin():
                real = await conn.scalar(select(Member.id).where(Member.telegram_id > 0).limit(1))
                if real is not None and not force:
                    raise DemoRefused(
                        "the database holds real members (positive Telegram ids); "
                        "demo data would mix with them"
                    )
                lowest = await conn.scalar(select(func.min(Member.telegram_id)))
                tg_base = min(int(lowest or 0), 0)
                gen.members.first_id = await _reserve_ids(conn, "member", members) + 1
                first_appeal = await _reserve_ids(conn, "appeal", appeals) + 1
                gen.lawyers = await _ensure_lawyers(conn, gen, now - timedelta(days=SPAN_DAYS + 1))
                summary.staff_created = gen.lawyers.created
                if appeals:
                    # These appeals bypass the ORM, which keeps the report's running tally:
                    # mark it unbuilt, so the next report rebuilds it (report/tally.py).
                    await conn.execute(delete(ReportTallyState))

            gen.sqlite = sqlite
            parts = _all_rows(gen, summary, appeals, first_appeal, tg_base, conversations, holidays)
            await _write_all(engine, conn, parts)
        finally:
            if sqlite:  # back to SQLite's default for the pooled connection; best effort
                with suppress(SQLAlchemyError):
                    await conn.rollback()
                    await conn.exec_driver_sql("PRAGMA cache_size = -2000")
                    await conn.commit()
    return summary


# --- The command --------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


async def demo_command(args: argparse.Namespace) -> int:
    """python -m bot demo-data: exit 0 done, 1 refused or database error, 2 bad arguments."""
    from bot.config import ToolSettings, settings_error_line
    from bot.report.tally import rebuild as rebuild_tally
    from bot.storage.db import create_engine, create_session_factory
    from bot.storage.migrate import upgrade

    problem = check_numbers(args.members, args.appeals, args.seed)
    if problem:
        print(f"demo-data: {problem}", file=sys.stderr)
        return 2
    try:
        settings = ToolSettings()
    except Exception as exc:
        print(settings_error_line(exc), file=sys.stderr)
        return 2
    try:
        orgs = MemberOrgs.load(settings.member_orgs_file)
    except Exception as exc:
        print(
            f"demo-data: cannot read {settings.member_orgs_file}: {_first_line(exc)}",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    try:
        engine = create_engine(settings.database_url)
    except Exception as exc:
        print(f"database error: DATABASE_URL is not usable: {_first_line(exc)}", file=sys.stderr)
        return 1
    where = engine.url.render_as_string(hide_password=True)
    try:
        await upgrade(engine)
        faq, _problems = check_faq(settings.faq_dir)  # a broken FAQ: fewer node ids, no more
        summary = await fill_demo(
            engine,
            members=args.members,
            appeals=args.appeals,
            seed=args.seed,
            conversations=not args.no_conversations,
            force=args.force,
            orgs=orgs,
            faq=faq,
        )
        # The report's running tally, from the new log: the first report is fast.
        tally_started = time.perf_counter()
        async with create_session_factory(engine)() as session:
            await rebuild_tally(session, ZoneInfo(settings.timezone))
            await session.commit()
        tally_seconds = time.perf_counter() - tally_started
        if engine.dialect.name == "postgresql":
            # What autovacuum would do some time later: planner statistics and the
            # visibility map for index-only scans, after a bulk load.
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    except DemoRefused:
        print(
            "demo-data: the database holds real members (positive Telegram ids); "
            "use --force to add demo data anyway",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        print(f"database error: {where}: {_first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        summary.line(time.perf_counter() - started)
        + f" (the report's tally rebuilt in {tally_seconds:.1f} s)"
    )
    return 0


__all__ = ["DemoRefused", "DemoSummary", "check_numbers", "demo_command", "fill_demo"]
