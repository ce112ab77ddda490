"""An appeal's outcome as the desk names it: the closing screen's marks, the numbers
typed there, and the one line a closed appeal's card shows."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, fmt_number
from bot.storage.models import Appeal

# code in the button's data → (Outcome's field, label)
FLAGS = {
    "cons": ("consultation", N_("Consultation given")),
    "conc": ("conciliation", N_("Conciliation commission")),
    "court": ("court", N_("Court case")),
    "med": ("mediation", N_("Mediation agreement")),
    "rein": ("reinstated", N_("Reinstated at work")),
    "insp": ("inspection", N_("Employer inspection")),
    "out": ("outside_competence", N_("Outside the union's competence")),
}
# Outcome flags (FLAGS' names) as the appeal stores them.
FIELD = {
    "consultation": "outcome_consultation",
    "conciliation": "outcome_conciliation",
    "court": "outcome_court",
    "mediation": "outcome_mediation",
    "reinstated": "outcome_reinstated",
    "inspection": "outcome_inspection",
    "outside_competence": "outcome_outside_competence",
}
TRISTATE = {
    "just": ("justified", N_("Found justified")),
    "won": ("court_won", N_("Court claim won")),
}
NUMBERS = {
    "vf": ("violations_found", N_("Violations found")),
    "vr": ("violations_remedied", N_("Violations remedied")),
    "money": ("money_returned_kzt", N_("Money returned, ₸")),
    "eco": ("economic_effect_kzt", N_("Economic effect, ₸")),
}


def done_labels(appeal: Appeal, lang: str) -> list[str]:
    """What the closing lawyer marked, in the desk's words (the member's closing message
    words it for the member)."""
    labels = [_(label) for name, label in FLAGS.values() if getattr(appeal, FIELD[name])]
    if appeal.outcome_justified is not None:
        labels.append(_("Found justified") if appeal.outcome_justified else _("Not justified"))
    if appeal.outcome_court and appeal.outcome_court_won is not None:
        labels.append(_("Court claim won") if appeal.outcome_court_won else _("Court claim lost"))
    for name, label in NUMBERS.values():
        value = getattr(appeal, name)
        if value:
            labels.append(f"{_(label)}: {fmt_number(value, lang)}")
    return labels
