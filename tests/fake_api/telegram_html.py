"""Telegram's HTML subset, parsed as Telegram parses it: the plain text and its
MessageEntity dicts (UTF-16 offsets); unsupported or unbalanced tags are Telegram's
``400 Bad Request: can't parse entities: ...``."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from tests.fake_api.errors import bad_request
from tests.fake_api.params import JSONDict

TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


@dataclass
class ParsedText:
    text: str
    entities: list[JSONDict] | None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class EntityParseError(Exception):
    pass


class TelegramHTML(HTMLParser):
    """Telegram's HTML subset: plain text plus MessageEntity dicts (UTF-16 offsets)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[JSONDict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAG_ENTITY:
            raise EntityParseError(f'Unsupported start tag "{tag}"')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if tag == "a" and not attributes.get("href"):
            raise EntityParseError('Tag "a" must have attribute "href"')
        self.stack.append((tag, attributes, self.pos))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(f'Unexpected end tag "{tag}"')
        open_tag, attributes, start = self.stack.pop()
        if open_tag != tag:
            raise EntityParseError(f'Unmatched end tag "{tag}", expected "</{open_tag}>"')
        length = self.pos - start
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                pre_tag, pre_attrs, pre_start = self.stack[-1]
                self.stack[-1] = (pre_tag, {**pre_attrs, "_language": language}, pre_start)
                return
        if length <= 0:
            return
        entity: JSONDict = {"type": TAG_ENTITY[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attributes["href"]
        elif tag == "pre" and attributes.get("_language"):
            entity["language"] = attributes["_language"]
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or "0"
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += utf16_len(data)

    def finish(self) -> ParsedText:
        self.close()
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.parts), entities or None)


def parse_text(text: str, parse_mode: Any, entities: Any) -> ParsedText:
    """Apply ``parse_mode`` like Telegram (HTML only); explicit entities win."""
    if isinstance(entities, list):
        return ParsedText(text, entities or None)
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        parser = TelegramHTML()
        try:
            parser.feed(text)
            return parser.finish()
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    return ParsedText(text, None)
