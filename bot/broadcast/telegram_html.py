"""Telegram HTML: what the Bot API accepts as a post's text, checked before it is saved.

The engine sends a post's text as it is, so a text Telegram would refuse (an unknown tag,
a bare "<" or "&", a tag left open, too long once parsed) would fail for every member: it
is refused here instead, with an `HtmlProblem` the press secretary can act on
(bot/handlers/press/texts.py says it in words).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TEXT_LIMIT = 4096  # characters of a message after its HTML is parsed
CAPTION_LIMIT = 1024  # of a photo's or document's caption

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
    }
)
HREF_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_ATTR = re.compile(
    r"""\s*([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?\s*"""
)
# Telegram knows numeric entities and only these named ones.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_SPECIAL = re.compile(r"[<&]")


@dataclass(frozen=True)
class HtmlProblem:
    """Why a text is not Telegram HTML.

    code: unknown-tag (tag), bad-attribute (tag), no-href, bad-href, unclosed (tag),
    stray-close (tag), bad-nesting (tag: the one closed out of order), inside-code (tag),
    bare-lt, bare-amp, empty, too-long (length, limit).
    """

    code: str
    tag: str = ""
    length: int = 0
    limit: int = 0


def escape_bare_amps(text: str) -> str:
    """Every "&" that starts no entity Telegram knows written as "&amp;": a pasted link's
    "?id=5&lang=kk" is what the press secretary means, not a broken entity."""
    return re.sub("&", lambda m: m[0] if _ENTITY.match(m.string, m.start()) else "&amp;", text)


def telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _attributes(raw: str) -> dict[str, str] | None:
    attrs: dict[str, str] = {}
    position = 0
    raw = raw.rstrip()
    while position < len(raw):
        match = _ATTR.match(raw, position)
        if match is None or match.end() == position:
            return None
        name = match.group(1).lower()
        value = next((g for g in match.group(2, 3, 4) if g is not None), None)
        if name in attrs:
            return None
        attrs[name] = "" if value is None else html.unescape(value)
        position = match.end()
    return attrs


def _tag_problem(name: str, attrs: dict[str, str]) -> HtmlProblem | None:
    if name == "a":
        if set(attrs) != {"href"}:
            return HtmlProblem("no-href" if "href" not in attrs else "bad-attribute", tag=name)
        if not attrs["href"].strip().lower().startswith(HREF_SCHEMES):
            return HtmlProblem("bad-href", tag=name)
        return None
    if name == "span":
        ok = attrs == {"class": "tg-spoiler"}
    elif name == "code":
        ok = not attrs or (set(attrs) == {"class"} and attrs["class"].startswith("language-"))
    elif name == "blockquote":
        ok = not attrs or attrs == {"expandable": ""}
    else:
        ok = not attrs
    return None if ok else HtmlProblem("bad-attribute", tag=name)


def parse_html(text: str) -> tuple[str, HtmlProblem | None]:
    """The plain text a member reads, and the first problem Telegram would refuse."""
    stack: list[str] = []
    plain: list[str] = []
    position = 0
    while position < len(text):
        special = _SPECIAL.search(text, position)
        if special is None:
            plain.append(text[position:])
            break
        plain.append(text[position : special.start()])
        position = special.start()
        if text[position] == "&":
            entity = _ENTITY.match(text, position)
            if entity is None:
                return "".join(plain), HtmlProblem("bare-amp")
            plain.append(html.unescape(entity.group(0)))
            position = entity.end()
            continue
        tag = _TAG.match(text, position)
        if tag is None:
            return "".join(plain), HtmlProblem("bare-lt")
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in ALLOWED_TAGS:
            return "".join(plain), HtmlProblem("unknown-tag", tag=name)
        if closing:
            if tag.group(3).strip():
                return "".join(plain), HtmlProblem("bad-attribute", tag=name)
            if name not in stack:
                return "".join(plain), HtmlProblem("stray-close", tag=name)
            if stack[-1] != name:
                return "".join(plain), HtmlProblem("bad-nesting", tag=stack[-1])
            stack.pop()
        else:
            attrs = _attributes(tag.group(3))
            if attrs is None:
                return "".join(plain), HtmlProblem("bad-attribute", tag=name)
            problem = _tag_problem(name, attrs)
            if problem is not None:
                return "".join(plain), problem
            # Nothing is formatted inside code; pre may hold one code (its language).
            if (
                stack
                and stack[-1] in {"code", "pre"}
                and not (stack[-1] == "pre" and name == "code")
            ):
                return "".join(plain), HtmlProblem("inside-code", tag=name)
            stack.append(name)
        position = tag.end()
    if stack:
        return "".join(plain), HtmlProblem("unclosed", tag=stack[-1])
    return "".join(plain), None


def check_html(text: str, *, limit: int = TEXT_LIMIT) -> HtmlProblem | None:
    plain, problem = parse_html(text)
    if problem is not None:
        return problem
    if not plain.strip():
        return HtmlProblem("empty")
    length = telegram_length(plain)
    if length > limit:
        return HtmlProblem("too-long", length=length, limit=limit)
    return None


def plain_text(text: str) -> str:
    return parse_html(text)[0]
