"""What a finished post achieved: delivery counts, duration, survey answers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape

from aiogram.utils.i18n import I18n
from babel.dates import format_timedelta
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.broadcast.engine import delivery_counts
from bot.i18n import N_, fmt_number
from bot.storage.models import Broadcast, Delivery, SurveyAnswer
from bot.topics import MemberOrgs

COUNT_LABELS = {
    "delivered": N_("delivered"),
    "blocked": N_("blocked the bot"),
    "failed": N_("failed"),
    "opted-out": N_("news turned off"),
    "skipped": N_("inactive, skipped"),
}


@dataclass
class PostOutcome:
    post_id: int
    counts: dict[str, int]
    duration: timedelta | None
    survey: SurveyResults | None = None


LANGUAGE_NAMES = {"kk": N_("Kazakh"), "ru": N_("Russian")}


@dataclass
class SurveyResults:
    options: dict[str, list[str]]  # language -> option texts
    answers: Counter[int] = field(default_factory=Counter)  # option index -> answers
    by_language: dict[str, Counter[int]] = field(default_factory=dict)
    by_org: dict[str, Counter[int]] = field(default_factory=dict)

    @property
    def aligned(self) -> bool:
        """Whether option N is one answer in every language. Posts are confirmed only so;
        older ones may differ, and then each language's answers are told apart."""
        return len({len(texts) for texts in self.options.values()}) <= 1


async def survey_results(session: AsyncSession, post: Broadcast) -> SurveyResults | None:
    """The answers so far (a poll can be answered while and after the post runs)."""
    if not post.survey:
        return None
    results = SurveyResults(
        {lang: list(version.get("options") or []) for lang, version in post.survey.items()}
    )
    by_language: dict[str, Counter[int]] = defaultdict(Counter)
    by_org: dict[str, Counter[int]] = defaultdict(Counter)
    rows = await session.execute(
        select(SurveyAnswer.options, Delivery.language, Delivery.member_org)
        .join(
            Delivery,
            and_(
                Delivery.broadcast_id == SurveyAnswer.broadcast_id,
                Delivery.member_id == SurveyAnswer.member_id,
            ),
        )
        .where(SurveyAnswer.broadcast_id == post.id)
    )
    for options, language, org in rows:
        for option in options or []:
            results.answers[int(option)] += 1
            by_language[language][int(option)] += 1
            by_org[org or "—"][int(option)] += 1
    results.by_language, results.by_org = dict(by_language), dict(by_org)
    return results


async def post_outcome(engine: AsyncEngine, session: AsyncSession, post: Broadcast) -> PostOutcome:
    counts = await delivery_counts(engine, post.id)
    duration = post.finished_at - post.started_at if post.finished_at and post.started_at else None
    return PostOutcome(post.id, counts, duration, await survey_results(session, post))


def survey_lines(
    results: SurveyResults, lang: str, _: Callable[[str], str], orgs: MemberOrgs
) -> list[str]:
    """Answers by option, then each option's count by language and by organisation."""
    texts = results.options.get(lang) or next(iter(results.options.values()))
    total = sum(results.answers.values())
    lines = [_("<b>Survey</b>: {count} answers").format(count=fmt_number(total, lang))]
    if not results.aligned:  # option N is not the same answer in both languages
        lines.append(
            _("The versions have different options: the answers are counted in each language.")
        )
        for language, options in sorted(results.options.items()):
            counted = results.by_language.get(language, Counter())
            lines.append(f"{_(LANGUAGE_NAMES.get(language, language))}:")
            lines += [
                f"• {escape(text)}: {fmt_number(counted.get(index, 0), lang)}"
                for index, text in enumerate(options)
            ]
        return lines
    for index, text in enumerate(texts):
        lines.append(f"• {escape(text)}: {fmt_number(results.answers.get(index, 0), lang)}")
    if not total:
        return lines
    lines.append(_("By language and by organisation (answers per option, in order):"))
    groups = [
        (_(LANGUAGE_NAMES.get(language, language)), counted)
        for language, counted in sorted(results.by_language.items())
    ] + [(orgs.title(org, lang), counted) for org, counted in sorted(results.by_org.items())]
    for name, counted in groups:
        shares = " / ".join(fmt_number(counted.get(i, 0), lang) for i in range(len(texts)))
        lines.append(f"{escape(name)}: {shares}")
    return lines


def outcome_text(outcome: PostOutcome, lang: str, i18n: I18n, orgs: MemberOrgs) -> str:
    def _(msgid: str) -> str:
        return i18n.gettext(msgid, locale=lang)

    lines = [_("<b>Post No. {number} has been sent.</b>").format(number=outcome.post_id)]
    for key, label in COUNT_LABELS.items():
        lines.append(f"{_(label)}: {fmt_number(outcome.counts.get(key, 0), lang)}")
    if outcome.duration is not None:
        took = format_timedelta(outcome.duration, threshold=1.1, locale=lang)
        lines.append(_("It took {duration}.").format(duration=took))
    if outcome.survey is not None:
        lines += ["", *survey_lines(outcome.survey, lang, _, orgs)]
        lines.append(_("Answers keep coming in: the post's card in /posts shows them."))
    return "\n".join(lines)
