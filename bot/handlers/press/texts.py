"""What the press screens say: the labels, a refusal as its reader can fix it, a post's
card, and each composing step's prompt (bot/handlers/press/compose.py asks them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names, get_timezone_location
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards as kb
from bot.broadcast import composition, lifecycle
from bot.broadcast.composition import Audience
from bot.broadcast.lifecycle import PostError
from bot.broadcast.outcome import LANGUAGE_NAMES, survey_lines, survey_results
from bot.broadcast.telegram_html import CAPTION_LIMIT, HtmlProblem, telegram_length
from bot.handlers.shared.common import outdated
from bot.i18n import N_, fmt_datetime
from bot.storage.models import Broadcast, PostStatus
from bot.topics import MemberOrgs

TAGS = '<b>, <i>, <u>, <s>, <tg-spoiler>, <a href="https://…">, <code>, <pre>, <blockquote>'
STATUS_LABELS = {
    PostStatus.DRAFT: N_("draft"),
    PostStatus.AWAITING_APPROVAL: N_("awaiting an admin's approval"),
    PostStatus.SCHEDULED: N_("scheduled"),
    PostStatus.RUNNING: N_("sending"),
    PostStatus.PAUSED: N_("paused"),
    PostStatus.DONE: N_("sent"),
    PostStatus.CANCELLED: N_("cancelled"),
}
HELD = N_("sending, held for the quiet hours")
PARTS = {
    "kk": N_("Kazakh text"),
    "ru": N_("Russian text"),
    "media": N_("Photo or document"),
    "audience": N_("Audience"),
    "survey": N_("Survey"),
    "schedule": N_("Time"),
    "urgent": N_("Urgency"),
}


def html_problem_text(problem: HtmlProblem) -> str:
    tag = escape(problem.tag)
    reasons = {
        "unknown-tag": _("Telegram does not know the tag &lt;{tag}&gt;. Allowed tags: {tags}."),
        "bad-attribute": _(
            "The tag &lt;{tag}&gt; has attributes Telegram does not accept. Only links "
            '(&lt;a href="…"&gt;), &lt;span class="tg-spoiler"&gt;, '
            '&lt;code class="language-…"&gt; and &lt;blockquote expandable&gt; take them.'
        ),
        "no-href": _('A link needs its address: &lt;a href="https://…"&gt;text&lt;/a&gt;.'),
        "bad-href": _("A link's address must start with https://, http://, tg:// or mailto:."),
        "unclosed": _("The tag &lt;{tag}&gt; is opened but never closed."),
        "stray-close": _("There is a closing &lt;/{tag}&gt; without its opening tag."),
        "bad-nesting": _("Tags overlap: close &lt;{tag}&gt; before the tag around it."),
        "inside-code": _(
            "Nothing can be formatted inside &lt;code&gt; or &lt;pre&gt; (found &lt;{tag}&gt;)."
        ),
        "bare-lt": _("The text has a “&lt;” that does not start a tag: write it as {lt}."),
        "bare-amp": _("The text has a “&amp;” that is not an HTML entity: write it as {amp}."),
        "empty": _("The text is empty."),
    }
    if problem.code == "too-long":
        if problem.limit == CAPTION_LIMIT:
            return _(
                "The text is too long: {length} characters. With a photo or document "
                "Telegram allows {limit}."
            ).format(length=problem.length, limit=problem.limit)
        return _("The text is too long: {length} characters; Telegram allows {limit}.").format(
            length=problem.length, limit=problem.limit
        )
    return reasons.get(problem.code, reasons["unknown-tag"]).format(
        tag=tag, tags=escape(TAGS), lt="&amp;lt;", amp="&amp;amp;"
    )


def status_label(post: Broadcast) -> str:
    """A post held for the quiet hours is scheduled again, but it is under way."""
    if post.status == PostStatus.SCHEDULED and lifecycle.has_started(post):
        return _(HELD)
    return _(STATUS_LABELS[post.status])


def date_example(tz: ZoneInfo | None) -> str:
    """A date a week from today, for the examples of how to type one."""
    return (datetime.now(tz) + timedelta(days=7)).strftime("%d.%m.%Y")


def refusal_text(exc: PostError, tz: ZoneInfo | None = None) -> str:
    """A refused action, as the reader can fix it (`tz`: for the examples' dates)."""
    d = exc.details
    if exc.code == "html":
        return html_problem_text(d["problem"])
    texts = {
        "not-found": _("This post no longer exists."),
        "state": _("This post is {status} now: that is no longer possible.").format(
            status=_(STATUS_LABELS[PostStatus(d["status"])]) if "status" in d else "—"
        ),
        "started": _(
            "This post has started going out: it can no longer be changed, only cancelled."
        ),
        "forbidden": _("Only an admin can do this."),
        "no-text": _("A post needs a text in at least one language."),
        "bad-media": _("Please send one photo or one document."),
        "bad-audience": outdated(),
        "survey-empty": _(
            "Please send the question on the first line and the options below it, one a line."
        ),
        "survey-options": _(
            "A survey needs from {low} to {high} options, one a line; you sent {count}."
        ).format(count=d.get("count"), low=d.get("low"), high=d.get("high")),
        "survey-mismatch": _(
            "The Kazakh survey has {kk} options and the Russian one {ru}. Answers are counted "
            "by option, so both need the same options in the same order."
        ).format(kk=d.get("kk"), ru=d.get("ru")),
        "bad-datetime": _(
            "I could not read the date and time. Please type them like this: {example} 10:00"
        ).format(example=date_example(tz)),
        "bad-time": _("I could not read the time. Please type it like this: 09:00"),
        "past": _("This time has already passed. Please choose a time in the future."),
    }
    if exc.code == "caption-too-long":
        return _(
            "With a photo or document the text may be at most {limit} characters, and the "
            "{language} text has {length}. Shorten the text or send the post without media."
        ).format(
            limit=d["limit"],
            language=_(LANGUAGE_NAMES[d["language"]]),
            length=d["length"],
        )
    if exc.code == "survey-question-long":
        return _("The question is too long: {length} characters; Telegram allows {limit}.").format(
            length=d["length"], limit=d["limit"]
        )
    if exc.code == "survey-option-long":
        return _(
            "Option {number} is too long: {length} characters; Telegram allows {limit}."
        ).format(number=d["number"], length=d["length"], limit=d["limit"])
    return texts.get(exc.code, outdated())


def weekday_name(weekday: int, lang: str) -> str:
    return str(get_day_names("wide", locale=lang)[weekday])


def schedule_text(post: Broadcast, lang: str, tz: ZoneInfo) -> str:
    if post.repeat_weekday is not None and post.repeat_time:
        text = _("every {weekday} at {time}").format(
            weekday=weekday_name(post.repeat_weekday, lang), time=post.repeat_time
        )
        if post.run_at is not None and post.status != PostStatus.DRAFT:
            text += _(" (next: {when})").format(when=fmt_datetime(post.run_at, lang, tz))
        return text
    if post.run_at is None:
        return _("right after it is confirmed")
    return fmt_datetime(post.run_at, lang, tz)


def audience_text(audience: Audience, orgs: MemberOrgs, lang: str) -> str:
    regions = (
        ", ".join(orgs.title(o, lang) for o in audience.orgs)
        if audience.orgs
        else _("all member organisations")
    )
    kinds = (
        ", ".join(
            _(kb.WORKPLACE_LABELS[k]) for k in kb.WORKPLACE_LABELS if k in audience.workplace_types
        )
        if audience.workplace_types
        else _("all workplaces")
    )
    language = (
        _("members reading in {language}").format(language=_(LANGUAGE_NAMES[audience.language]))
        if audience.language
        else _("both languages")
    )
    return f"{escape(regions)}; {escape(kinds)}; {language}"


def flag_lines(post: Broadcast) -> list[str]:
    texts = {
        "text-kk": _("No Kazakh text: members reading in Kazakh get the Russian one."),
        "text-ru": _("No Russian text: members reading in Russian get the Kazakh one."),
        "survey-kk": _("No Kazakh survey: members reading in Kazakh get the Russian one."),
        "survey-ru": _("No Russian survey: members reading in Russian get the Kazakh one."),
    }
    return [f"⚠️ {texts[flag]}" for flag in composition.flags(post)]


def counts_text(counts: dict[str, int], *, cancelled: bool = False) -> str:
    """A post's deliveries; those still waiting when it was cancelled never go."""
    return (
        _(
            "delivered {delivered}, not sent (cancelled) {waiting}, not delivered {failed}, "
            "blocked the bot {blocked}, news turned off {opted}, inactive {skipped}"
        )
        if cancelled
        else _(
            "delivered {delivered}, waiting {waiting}, not delivered {failed}, blocked the bot "
            "{blocked}, news turned off {opted}, inactive {skipped}"
        )
    ).format(
        delivered=counts.get("delivered", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
        failed=counts.get("failed", 0),
        blocked=counts.get("blocked", 0),
        opted=counts.get("opted-out", 0),
        skipped=counts.get("skipped", 0),
    )


async def card_text(
    session: AsyncSession, post: Broadcast, lang: str, orgs: MemberOrgs, tz: ZoneInfo
) -> str:
    audience = Audience.of(post)
    lines = [
        _("<b>Post No. {number}</b>: {status}").format(number=post.id, status=status_label(post))
    ]
    # Not yet started: who would get it; started (held for the night too): its deliveries.
    fresh = post.status in (PostStatus.DRAFT, *lifecycle.UPCOMING) and not lifecycle.has_started(
        post
    )
    if post.urgent:
        lines.append(_("⚡ Urgent"))
    title = composition.title(post, language=lang)
    if title:
        lines.append(f"«{escape(title)}»")
    lines.append(_("🕒 When: {when}").format(when=schedule_text(post, lang, tz)))
    lines.append(_("👥 Audience: {audience}").format(audience=audience_text(audience, orgs, lang)))
    if fresh:
        size = await composition.audience_size(session, audience)
        lines.append(_("Members who would get it now: <b>{size}</b>").format(size=size))
    if post.media_kind == "photo":
        lines.append(_("🖼 With a photo"))
    elif post.media_kind == "document":
        lines.append(_("📎 With a document"))
    if post.survey:
        version = post.survey.get(lang) or next(iter(post.survey.values()))
        lines.append(
            _("📊 Survey: {question} ({count} options)").format(
                question=escape(composition.survey_question(version)),
                count=len(version.get("options") or []),
            )
        )
    lines += flag_lines(post)
    if not fresh:
        counts = (await lifecycle.delivery_counts(session, [post.id]))[post.id]
        cancelled = post.status == PostStatus.CANCELLED
        lines.append(
            _("📬 Delivery: {counts}").format(counts=counts_text(counts, cancelled=cancelled))
        )
        results = await survey_results(session, post)
        if results is not None:
            lines += ["", *survey_lines(results, lang, _, orgs)]
    return "\n".join(lines)


def zone_name(tz: ZoneInfo, lang: str) -> str:
    """The bot's time zone as people say it: "Алматы", not "Asia/Almaty"."""
    return str(get_timezone_location(tz.key, locale=lang, return_city=True))


# --- the composing steps' prompts (async: the audience's one counts members) ---------------


async def text_prompt(post: Broadcast, language: str) -> str:
    text = _(
        "✍️ <b>Post No. {number}</b>\nSend the text in <b>{language}</b>. Format it with "
        "Telegram's menu or with HTML tags: {tags}. Up to 4,096 characters (1,024 with "
        "a photo or document)."
    ).format(number=post.id, language=_(LANGUAGE_NAMES[language]), tags=escape(TAGS))
    current = composition.post_text(post, language)
    if current and telegram_length(current) < 3500:  # Telegram's units
        text += "\n\n" + _("Now:") + f"\n<pre>{escape(current)}</pre>"
    return text


async def media_prompt() -> str:
    return _(
        "🖼 Send one photo or document to go with the post (the text becomes its "
        "caption), or continue without."
    )


async def audience_prompt(
    session: AsyncSession, post_id: int, audience: Audience, orgs: MemberOrgs, lang: str
) -> str:
    size = await composition.audience_size(session, audience)
    return _(
        "👥 <b>Post No. {number}: who gets it</b>\n{audience}\n\n"
        "Members who would get it now: <b>{size}</b>\n"
        "Tap regions, workplaces and the language; nothing chosen means everyone."
    ).format(number=post_id, audience=audience_text(audience, orgs, lang), size=size)


async def survey_prompt() -> str:
    return _("📊 Add a survey (a Telegram poll) after the post?")


async def survey_version_prompt(post: Broadcast, language: str) -> str:
    text = _(
        "📊 Send the survey in <b>{language}</b>: the question on the first line, then "
        "from 2 to 10 options, one a line. Question up to 300 characters, options up "
        "to 100."
    ).format(language=_(LANGUAGE_NAMES[language]))
    theirs = composition.option_counts(post.survey).get(composition.other(language))
    if language == "ru" and theirs:  # the Kazakh version is asked first
        return (
            text
            + "\n"
            + _(
                "Give the same {count} options as in the Kazakh version, in the same order: "
                "answers are counted by option."
            ).format(count=theirs)
        )
    return (
        text
        + "\n"
        + _(
            "If there is a version in the other language too, give its options in the same "
            "order: answers are counted by option."
        )
    )


async def schedule_prompt() -> str:
    return _("🕒 When should the post go out?")


async def urgent_prompt(tz: ZoneInfo, lang: str) -> str:
    return _(
        "⚡ Is the post urgent? An urgent post is sent at any hour; any other post does "
        "not go out between 22:00 and 08:00 ({zone} time) and waits for the morning."
    ).format(zone=zone_name(tz, lang))
