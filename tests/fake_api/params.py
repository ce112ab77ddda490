"""A request's parameters as the bot sent them: query, JSON or form fields (aiogram
JSON-encodes complex values), uploaded files in place of their ``attach://`` names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fake_api.errors import bad_request

JSONDict = dict[str, Any]

# Params that are always plain strings (never JSON-decoded, so a text "123" stays "123").
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "question",
        "question_parse_mode",
        "explanation",
        "explanation_parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "url",
        "action",
        "description",
        "short_description",
        "name",
        "title",
        "file_id",
        "emoji",
        "language_code",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "video_note",
        "animation",
        "sticker",
        "thumbnail",
        "message_effect_id",
    }
)


@dataclass
class UploadedFile:
    """A file the client uploaded (multipart); replaces ``attach://...`` in recorded params."""

    filename: str
    content_type: str
    data: bytes


def norm_chat(value: Any) -> int | str | None:
    """A chat id as Telegram reads it: a number when it is one, else the text (@name)."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return text


def chat_id_of(params: JSONDict) -> int:
    value = norm_chat(params.get("chat_id"))
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    if not isinstance(value, int):
        raise bad_request("chat not found")
    return value


async def read_params(request: web.Request) -> JSONDict:
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    if request.body_exists:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                uploads[name] = UploadedFile(value.filename, value.content_type, value.file.read())
            elif isinstance(value, str):
                raw[name] = value
            else:
                raw[name] = bytes(value).decode()
    params: JSONDict = {}
    used: set[str] = set()
    for name, value in raw.items():
        params[name] = resolve_attach(decode(name, value), uploads, used)
    for name, upload in uploads.items():
        if name not in used:
            params[name] = upload
    return params


def decode(name: str, value: Any) -> Any:
    """Undo aiogram's JSON encoding of a form value (plain strings stay strings)."""
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value
    if isinstance(decoded, str):
        return value
    return decoded


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def resolve_attach(value: Any, uploads: dict[str, UploadedFile], used: set[str]) -> Any:
    """Replace ``attach://name`` references by the uploaded files (recording which were used)."""
    if isinstance(value, str) and value.startswith("attach://"):
        name = value.removeprefix("attach://")
        if name in uploads:
            used.add(name)
            return uploads[name]
        return value
    if isinstance(value, list):
        return [resolve_attach(item, uploads, used) for item in value]
    if isinstance(value, dict):
        return {key: resolve_attach(item, uploads, used) for key, item in value.items()}
    return value
