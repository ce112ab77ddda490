"""How the union's activity is shaped in the demo data: who the members are, when they
write, what about, how their appeals are handled and what comes of them.

The figures follow the union's own (domain.md): 34,201 appeals considered in 2024 with
717 conciliation commissions, 52 court cases, 24 reinstated, 2,653 inspections finding
4,828 violations; consultations about 70 %; pay the most common topic.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

DAY = 86_400.0
HOUR = 3_600.0
SPAN_DAYS = 730  # two years up to now
TZ = ZoneInfo("Asia/Almaty")
BATCH = 10_000  # appeals (or events) per transaction: bounded memory, few commits

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
# How appeals came. domain.md gives no split of the union's appeals by channel: the shares
# here are an assumption for demonstrations only, not the union's figures. Electronic ones
# come through the bot; written and oral ones (in person or by phone) are logged by a lawyer
# (/log) and have what the bot gives them: a person row of their own, a lawyer from the
# start, no conversation, no first answer in the bot, no rating, no desk's clock.
CHANNEL_SHARES = (("electronic", 0.20), ("written", 0.45), ("oral", 0.35))
BOT_SHARE = CHANNEL_SHARES[0][1]
FAQ_MISS_SHARE = 0.4  # of the appeals through the bot
HIDE_SHARE = 0.3  # of the appeals through the bot

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

# --- FAQ self-service, per appeal through the bot ----------------------------------------

VIEWED, FEEDBACKS, SEARCH_SHOWN = 8.0, 2.5, 3.0  # feedbacks: helped 2.0 + not-helped 0.5
HELPFULNESS = (8.0, 2.0)  # beta distribution of an answer's "helped" share, mean 0.8
MAILBOX_SHARE = 0.02  # mailbox letters per appeal through the bot
MAILBOX_KINDS = (("suggestion", 0.45), ("complaint", 0.25), ("thanks", 0.3))
ANONYMOUS = 0.3
