"""An appeal's card as its lawyers read it: who and what, then the whole thread (the first
text, the member's later messages, the lawyers' answers, internal notes, files), in pages
that fit one Telegram message each, newest last."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from html import escape
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_timedelta

from bot.handlers.desk.outcome_labels import done_labels
from bot.handlers.shared.media import TEXT_LIMIT, clip, utf16_len
from bot.i18n import N_, fmt_date, fmt_datetime
from bot.keyboards import WORKPLACE_LABELS
from bot.services.desk import AppealCard
from bot.services.logged import is_logged, is_logged_person
from bot.storage.models import Appeal, AppealStatus, MessageSide, utcnow
from bot.topics import MemberOrgs, topic_title

MARGIN = 64  # the page line, and a safe distance
TAGS = re.compile(r"<[^>]+>")


def shown_length(markup: str) -> int:
    """What Telegram counts against its limit: the text once our HTML is parsed."""
    return utf16_len(html.unescape(TAGS.sub("", markup)))


def age(created: datetime, lang: str) -> str:
    return format_timedelta(utcnow() - created, threshold=1.1, format="short", locale=lang)


# How a logged or imported appeal came, as in "Came {channel}" (ru «Поступило письменно»).
CHANNEL_LABELS = {
    "written": N_("in writing"),
    "oral": N_("in person"),
    "electronic": N_("electronically"),
}


def channel_label(channel: str) -> str:
    return _(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel


def outside_the_bot(card: AppealCard) -> bool:
    """Logged by a lawyer, or imported from a paper register (an e-mail of those years is
    "electronic" too): its person row is nobody the bot knows."""
    return is_logged(card.appeal) or is_logged_person(card.member)


def _who(card: AppealCard, lang: str, tz: ZoneInfo) -> list[str]:
    """Who wrote: the member, or for an appeal logged by a lawyer the person it came from
    (name and contact as the lawyer typed them) and how it came."""
    appeal, member = card.appeal, card.member
    who = escape(member.full_name or _("(name not given)"))
    if not outside_the_bot(card):
        if member.username:
            who += " @" + escape(member.username)
        return [
            _("Member: {who} · earlier appeals: {count}").format(
                who=who, count=card.earlier_appeals
            )
        ]
    return [
        _("Person: {who} · contact: {contact}").format(
            who=who, contact=escape(member.username or "—")
        ),
        _("📄 Came {channel}, received {day}: the bot cannot write to anyone in it.").format(
            channel=channel_label(appeal.channel), day=fmt_date(appeal.created_at, lang, tz)
        ),
    ]


def header(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> str:
    appeal = card.appeal
    lines = [
        _("<b>Appeal No. {number}</b> · {topic}").format(
            number=appeal.id, topic=escape(topic_title(appeal.topic, lang))
        ),
        _("Region: {org} · workplace: {workplace}").format(
            org=escape(orgs.title(appeal.member_org, lang)),
            workplace=_(WORKPLACE_LABELS[appeal.workplace_type]) if appeal.workplace_type else "—",
        ),
        *_who(card, lang, tz),
        _("✅ Closed {day} · files: {files}").format(
            day=fmt_date(appeal.closed_at, lang, tz), files=len(files_of(card))
        )
        if appeal.closed_at is not None
        # In a queue it waits; taken, it is being worked on since it came.
        else _("Waiting: {age} · files: {files}").format(
            age=age(appeal.created_at, lang), files=len(files_of(card))
        )
        if appeal.status in (AppealStatus.QUEUED, AppealStatus.REOPENED)
        else _("Received {age} ago · files: {files}").format(
            age=age(appeal.created_at, lang), files=len(files_of(card))
        ),
    ]
    if appeal.closed_at is not None:
        done = done_labels(appeal, lang)
        lines.append(
            _("Outcome: {outcome}").format(outcome=escape(", ".join(done)))
            if done
            else _("Outcome: not recorded")
        )
    elif appeal.reopened_at is not None and (done := done_labels(appeal, lang)):
        # Reopened: what was marked at the closing the member found did not solve it.
        lines.append(
            _("Outcome before the reopening: {outcome}").format(outcome=escape(", ".join(done)))
        )
    if appeal.hide_from_employer:
        lines.append(_("🔒 Do not name the member to their workplace's union committee."))
    if card.lawyer is not None and appeal.closed_at is None:  # a closed one: its history
        lines.append(
            _("Taken by: {name}").format(
                name=escape(card.lawyer.full_name or str(card.lawyer.telegram_id))
            )
        )
    return "\n".join(lines)


def files_of(card: AppealCard) -> list[dict[str, Any]]:
    """Every file of the appeal: those sent with it, then those added in the thread."""
    files = list(card.appeal.attachments or [])
    for message in card.thread:
        files.extend(message.attachments or [])
    return files


def _file_lines(attachments: list[dict[str, Any]]) -> list[str]:
    return [
        "📎 " + (escape(str(item.get("name"))) if item.get("name") else _("photo"))
        for item in attachments or []
    ]


def entries(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> list[str]:
    """The thread as HTML blocks, oldest first; the first is the appeal's own text."""
    erased = "<i>{}</i>".format(
        _("The text is erased: at the member's request, or after the storage period.")
    )
    appeal = card.appeal
    if outside_the_bot(card):
        summary = (
            f"«{escape(appeal.text)}»"
            if appeal.text is not None
            else "<i>{}</i>".format(
                _("No summary of the question, or it was erased after the storage period.")
            )
        )
        first = [
            "📄 <b>{}</b> · {}".format(
                _("Summary of the question"), fmt_datetime(appeal.created_at, lang, tz)
            ),
            summary,
        ]
    else:
        first = [
            "👤 <b>{}</b> · {}".format(_("Member"), fmt_datetime(appeal.created_at, lang, tz)),
            f"«{escape(appeal.text)}»" if appeal.text is not None else erased,
            *_file_lines(appeal.attachments),
        ]
    blocks = ["\n".join(first)]
    changes = status_changes(card, orgs, lang)
    for message in card.thread:
        while changes and changes[0].at <= message.sent_at:
            blocks.append(_change_line(changes.pop(0), lang, tz))
        when = fmt_datetime(message.sent_at, lang, tz)
        name = escape(card.authors.get(message.author_staff_id or 0, ""))
        if message.side == MessageSide.MEMBER:
            head = "👤 <b>{}</b> · {}".format(_("Member"), when)
        elif message.side == MessageSide.LAWYER:
            head = "👩‍⚖️ <b>{}</b> · {}".format(name or _("Lawyer"), when)
        else:
            head = "📝 <b>{}</b> · {}".format(
                _("Internal note, {name}").format(name=name) if name else _("Internal note"), when
            )
        if message.text is not None:
            words = escape(message.text)
            body = f"<i>{words}</i>" if message.side == MessageSide.NOTE else words
        elif not message.attachments:
            body = erased
        else:
            body = ""
        if message.edited_at is not None and message.text is not None:
            head += " · " + _("✏️ edited {when}").format(
                when=fmt_datetime(message.edited_at, lang, tz)
            )
        lines = [head, *([body] if body else []), *_file_lines(message.attachments)]
        blocks.append("\n".join(lines))
    blocks.extend(_change_line(change, lang, tz) for change in changes)
    return blocks


class Change(NamedTuple):
    """One line of the appeal's history among its messages, at `at` (shown when `timed`)."""

    at: datetime
    line: str
    timed: bool = True


def _change_line(change: Change, lang: str, tz: ZoneInfo) -> str:
    if not change.timed:
        return f"<i>{change.line}</i>"
    return f"<i>{fmt_datetime(change.at, lang, tz)} · {change.line}</i>"


def _rating(appeal: Appeal) -> Change | None:
    """The member's rating and comment, after the closing they rate (a reopening keeps the
    comment the member wrote before it, and clears the rating). When the member rated is
    not recorded: no time is shown."""
    if appeal.rating is None and not appeal.rating_comment:
        return None
    parts = []
    if appeal.rating is not None:
        parts.append(_("⭐ The member rated the help {rating} of 5").format(rating=appeal.rating))
    if appeal.rating_comment:
        parts.append(
            _("💬 The member's comment: «{comment}»").format(comment=escape(appeal.rating_comment))
        )
    if appeal.closed_at is not None:
        at = appeal.closed_at + timedelta(days=3650)  # after everything up to the closing
    elif appeal.reopened_at is not None:
        at = appeal.reopened_at - timedelta(microseconds=1)  # just before the reopening
    else:
        return None
    return Change(at, " · ".join(parts), timed=False)


def status_changes(card: AppealCard, orgs: MemberOrgs, lang: str) -> list[Change]:
    """The appeal's status changes from the audit log (and the member's reopening, which
    the appeal itself records), oldest first, each as one line of HTML."""
    names = card.names

    def name(key: str, value: object) -> str:
        return escape(names.get(f"{key}:{value}", _("a lawyer no longer on staff")))

    changes: list[Change] = []
    for event in card.events:
        who = name("tg", event.staff_telegram_id) if event.staff_telegram_id else _("the bot")
        details = event.details or {}
        if event.action == "log-appeal":
            line = _("📄 Logged by {name}").format(name=who)
        elif event.action == "claim":
            line = _("✋ Taken by {name}").format(name=who)
        elif event.action == "release":
            line = _("↩️ Put back in the queue by {name}").format(name=who)
        elif event.action == "hand-over" and "to_staff" in details:
            line = _("🔀 Handed over by {name} to {colleague}").format(
                name=who, colleague=name("id", details["to_staff"])
            )
        elif event.action == "hand-over":
            line = _("🔀 Handed over by {name} to {region}").format(
                name=who, region=escape(orgs.title(str(details.get("to_org", "")), lang))
            )
        elif event.action == "back-to-queue":
            line = _("↩️ Back in the queue: {name} no longer covers its region").format(
                name=name("id", details.get("staff_id"))
            )
        elif event.action == "correct-topic":
            line = _("🏷 Topic corrected by {name}: {old} → {new}").format(
                name=who,
                old=escape(topic_title(str(details.get("old", "")), lang)),
                new=escape(topic_title(str(details.get("new", "")), lang)),
            )
        elif event.action == "close":
            line = _("✅ Closed by {name}").format(name=who)
        else:
            continue
        changes.append(Change(event.at, line))
    if card.appeal.reopened_at is not None:
        changes.append(Change(card.appeal.reopened_at, _("🔁 Reopened by the member: not solved")))
    rating = _rating(card.appeal)
    if rating is not None:
        changes.append(rating)
    changes.sort(key=lambda change: change.at)
    return changes


def pages(card: AppealCard, orgs: MemberOrgs, lang: str, tz: ZoneInfo) -> list[str]:
    """The card in pages, each within Telegram's limit: the header on every page, then as
    many whole entries as fit, the newest on the last page."""
    head = header(card, orgs, lang, tz)
    budget = TEXT_LIMIT - shown_length(head) - MARGIN
    groups: list[list[str]] = [[]]
    used = 0
    for entry in reversed(entries(card, orgs, lang, tz)):
        block, size = entry, shown_length(entry) + 2
        if size > budget:  # longer than a page by itself: its words, plainly, cut
            block = escape(clip(html.unescape(TAGS.sub("", entry)), budget - 2))
            size = budget
        if groups[0] and used + size > budget:
            groups.insert(0, [])
            used = 0
        groups[0].insert(0, block)
        used += size
    texts = []
    for number, group in enumerate(groups, start=1):
        text = head + "\n\n" + "\n\n".join(group)
        if len(groups) > 1:
            text += "\n\n" + _("Page {page} of {pages}").format(page=number, pages=len(groups))
        texts.append(text)
    return texts
