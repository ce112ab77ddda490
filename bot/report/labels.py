"""Names of the report's rows, in the order the legal inspection reports them.

English msgids; Kazakh and Russian from the catalogs (`translate`), so the Excel file can
carry both languages whatever the reader's own.
"""

from __future__ import annotations

from functools import cache

from aiogram.utils.i18n import I18n

from bot.i18n import N_, create_i18n
from bot.storage.models import FeedbackKind

# (number in the inspection's form or "" for the bot's own figures, key, msgid)
INDICATORS: list[tuple[str, str, str]] = [
    ("1", "appeals_considered", N_("Appeals of members considered")),
    ("2", "appeals_written", N_("of them written")),
    ("2", "appeals_oral", N_("of them oral")),
    ("2", "appeals_electronic", N_("of them electronic (through the bot)")),
    ("", "appeals_received", N_("Appeals received")),
    ("4", "consultations", N_("Free consultations given")),
    ("5", "found_justified", N_("Found justified / satisfied")),
    ("6", "conciliation_commission", N_("Help in conciliation commissions")),
    ("7", "court_cases", N_("Help in courts")),
    ("7", "court_claims_won", N_("of them claims won")),
    ("8", "mediation_agreements", N_("Mediation agreements")),
    ("9", "reinstated", N_("Reinstated at work")),
    ("10", "inspections", N_("Inspections of employers")),
    ("11", "violations_found", N_("Violations found")),
    ("11", "violations_remedied", N_("Violations remedied")),
    ("12", "money_returned_kzt", N_("Money returned to members, ₸")),
    ("13", "economic_effect_kzt", N_("Economic effect, ₸")),
    ("", "outside_competence", N_("Outside the union's competence")),
    ("", "self_service_answers", N_("Questions answered by the FAQ without a lawyer")),
    ("", "faq_views", N_("FAQ answers read")),
    ("", "faq_not_helped", N_("FAQ answers that did not help")),
    ("", "faq_led_to_appeal", N_("Appeals written after an FAQ answer")),
    ("", "faq_answers_from_appeals", N_("FAQ answers made from lawyers' answers in appeals")),
    ("", "appeals_per_1000_members", N_("Appeals per 1,000 members")),
    ("", "answered", N_("Appeals answered")),
    ("", "median_first_answer_hours", N_("Time to first answer, median, hours")),
    ("", "p90_first_answer_hours", N_("Time to first answer, 90th percentile, hours")),
    ("", "sla_breaches", N_("Appeals past the first-answer deadline")),
    ("", "backlog_open", N_("Open appeals at the end of the period")),
    ("", "backlog_median_age_days", N_("Their median age, days")),
    ("", "backlog_oldest_days", N_("The oldest, days")),
    ("", "ratings", N_("Answers rated by members")),
    ("", "satisfaction_avg", N_("Satisfaction, average score of 5")),
    ("", "mailbox_messages", N_("Union mailbox messages")),
]

MAILBOX = {
    FeedbackKind.SUGGESTION.value: N_("Suggestions"),
    FeedbackKind.COMPLAINT.value: N_("Complaints"),
    FeedbackKind.THANKS.value: N_("Thanks"),
}

COLUMNS = {
    "received": N_("Received"),
    "considered": N_("Considered"),
    "previous": N_("Previous period"),
    "change": N_("Change, %"),
    "indicator": N_("Indicator"),
    "region": N_("Member organisation"),
    "topic": N_("Topic"),
    "month": N_("Month"),
}


@cache
def _i18n() -> I18n:
    return create_i18n()


def translate(msgid: str, lang: str) -> str:
    return _i18n().gettext(msgid, locale=lang)
