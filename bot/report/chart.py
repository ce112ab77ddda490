"""The report at a glance: one PNG with three panels, in the reader's language.

(a) appeals received and considered by month, (b) appeals received by topic, (c) the
outcomes of the period against the previous one. Only aggregate figures: no personal data.

Drawn with matplotlib's object-oriented API on the Agg canvas (no pyplot and its global
figure registry), so it is safe to call from a worker thread (asyncio.to_thread).
"""

from __future__ import annotations

import textwrap
from io import BytesIO

from babel.dates import format_date
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import N_
from bot.report.figures import Report, month_label
from bot.report.labels import COLUMNS, INDICATORS, translate
from bot.report.period import Period
from bot.topics import TOPICS, MemberOrgs, topic_title

WIDTH, HEIGHT, DPI = 12, 15, 100  # 1200 x 1500 px
RECEIVED_COLOUR = "#2f6db5"
CONSIDERED_COLOUR = "#e07b24"
PREVIOUS_COLOUR = "#a9b7c6"
MIN_SLOTS = 6  # bars are sized as if a panel had at least this many

CHART_TITLE = N_("Members' appeals")
BY_MONTH = N_("Appeals by month")
BY_TOPIC = N_("Appeals received by topic")
OUTCOMES = N_("Outcomes of the appeals considered")
NO_APPEALS = N_("No appeals in this period")
WHOLE_UNION = N_("The whole union")
OUTCOME_KEYS = (
    "consultations",
    "found_justified",
    "conciliation_commission",
    "court_cases",
    "mediation_agreements",
    "reinstated",
    "inspections",
)
NAMES = {key: msgid for _, key, msgid in INDICATORS}


def _period(period: Period, lang: str, pattern: str = "d MMMM y") -> str:
    first = format_date(period.first, format=pattern, locale=lang)
    last = format_date(period.last, format=pattern, locale=lang)
    return f"{first} – {last}"


def _scope(report: Report, member_orgs: MemberOrgs, lang: str) -> str:
    if report.orgs is None:
        return translate(WHOLE_UNION, lang)
    return ", ".join(member_orgs.title(org, lang) for org in report.orgs)


def render_chart(report: Report, lang: str, member_orgs: MemberOrgs) -> bytes:
    """The chart as PNG bytes, about 1200 x 1500 pixels."""
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    title = f"{translate(CHART_TITLE, lang)}: {_period(report.period, lang)}"
    scope = textwrap.fill(_scope(report, member_orgs, lang), width=110)
    fig.suptitle(f"{title}\n{scope}", fontsize=16, fontweight="bold")
    months_ax, topics_ax, outcomes_ax = fig.subplots(
        3, 1, gridspec_kw={"height_ratios": [1.0, 1.2, 1.0]}
    )
    received = translate(COLUMNS["received"], lang)
    considered = translate(COLUMNS["considered"], lang)

    # (a) by month: bars of appeals received, a line of appeals considered.
    by_month = report.current.by_month
    labels = [format_date(month_label(key), format="LLL y", locale=lang) for key in by_month]
    positions = list(range(len(by_month)))
    bars = months_ax.bar(
        positions,
        [counts.get("received", 0) for counts in by_month.values()],
        color=RECEIVED_COLOUR,
        label=received,
        width=0.6,
    )
    months_ax.bar_label(bars, padding=2)
    months_ax.plot(
        positions,
        [counts.get("considered", 0) for counts in by_month.values()],
        color=CONSIDERED_COLOUR,
        marker="o",
        linewidth=2.5,
        label=considered,
    )
    months_ax.set_xticks(positions, labels)
    # A bar no wider than a sixth of the panel, however few months the period has.
    spare = max(0.0, (MIN_SLOTS - len(positions)) / 2)
    months_ax.set_xlim(-0.5 - spare, len(positions) - 0.5 + spare)
    months_ax.set_title(translate(BY_MONTH, lang), loc="left", fontsize=13)
    months_ax.legend(loc="upper left")
    highest = max(
        [0, *(max(c.get("received", 0), c.get("considered", 0)) for c in by_month.values())]
    )
    _tidy(months_ax, highest)

    # (b) by topic, most frequent on top.
    by_topic = report.current.by_topic
    order = {topic: i for i, topic in enumerate(TOPICS)}
    topics = sorted(
        (topic for topic, counts in by_topic.items() if counts.get("received", 0)),
        key=lambda t: (-by_topic[t]["received"], order.get(t, len(order)), t),
    )
    topics_ax.set_title(translate(BY_TOPIC, lang), loc="left", fontsize=13)
    if topics:
        bars = topics_ax.barh(
            range(len(topics)),
            [by_topic[t]["received"] for t in topics],
            color=RECEIVED_COLOUR,
            height=0.6,
        )
        topics_ax.bar_label(bars, padding=3)
        topics_ax.set_yticks(range(len(topics)), [topic_title(t, lang) for t in topics])
        topics_ax.set_ylim(max(len(topics), MIN_SLOTS) - 0.5, -0.5)  # the first on top
    else:
        topics_ax.text(0.5, 0.5, translate(NO_APPEALS, lang), ha="center", va="center", fontsize=13)
        topics_ax.set_axis_off()
    _tidy(topics_ax, max([0, *(by_topic[t]["received"] for t in topics)]), vertical=False)

    # (c) outcomes: this period and the previous one side by side, longest label on top.
    names = [translate(NAMES[key], lang) for key in OUTCOME_KEYS]
    current = [int(report.current.indicators.get(key) or 0) for key in OUTCOME_KEYS]
    previous = [int(report.previous.indicators.get(key) or 0) for key in OUTCOME_KEYS]
    height = 0.38
    rows = range(len(OUTCOME_KEYS))
    now_bars = outcomes_ax.barh(
        [i - height / 2 for i in rows],
        current,
        height,
        color=RECEIVED_COLOUR,
        label=_period(report.period, lang, "d MMM y"),
    )
    then_bars = outcomes_ax.barh(
        [i + height / 2 for i in rows],
        previous,
        height,
        color=PREVIOUS_COLOUR,
        label=_period(report.previous_period, lang, "d MMM y"),
    )
    outcomes_ax.bar_label(now_bars, padding=3)
    outcomes_ax.bar_label(then_bars, padding=3)
    outcomes_ax.set_yticks(rows, names)
    outcomes_ax.invert_yaxis()
    outcomes_ax.set_title(translate(OUTCOMES, lang), loc="left", fontsize=13)
    outcomes_ax.legend(loc="best")
    _tidy(outcomes_ax, max(current + previous), vertical=False)

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    fig.clear()
    return buffer.getvalue()


def _tidy(ax: Axes, highest: float, vertical: bool = True) -> None:
    """Whole-number ticks from 0, with room for the bars' labels (and an axis even when
    every value is 0)."""
    ax.spines[["top", "right"]].set_visible(False)
    axis, limits = (ax.yaxis, ax.set_ylim) if vertical else (ax.xaxis, ax.set_xlim)
    axis.set_major_locator(MaxNLocator(integer=True))
    limits(0, max(highest, 1) * 1.15)
    ax.grid(axis="y" if vertical else "x", alpha=0.3)
