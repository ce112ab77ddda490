"""The Bot API methods the fake server answers (besides getUpdates): sending, copying,
forwarding, editing and deleting messages, the bot's descriptions, and the getters."""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tests.fake_api.content import caption_content, inline, text_content, validate_markup
from tests.fake_api.errors import NOT_MODIFIED, bad_request
from tests.fake_api.params import JSONDict, chat_id_of, norm_chat
from tests.fake_api.store import Store, StoredMessage

Handler = Callable[[JSONDict], Awaitable[Any]]

MAX_DESCRIPTION = 512  # Telegram's limits of setMyDescription and setMyShortDescription
MAX_SHORT_DESCRIPTION = 120

# Message fields copied by copyMessage / forwardMessage.
CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "video",
    "audio",
    "voice",
    "animation",
    "sticker",
    "video_note",
    "location",
    "contact",
    "poll",
    "dice",
)


# An administrator's rights in getChatMember, all off unless a test gives them.
ADMIN_RIGHTS: JSONDict = dict.fromkeys(
    (
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
        "can_send_welcome_messages",
        "can_manage_topics",
    ),
    False,
)


class Methods:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        """Method name (lower case) -> its handler; any other method answers True."""
        return {
            "getme": self.get_me,
            "sendmessage": self.send_message,
            "sendphoto": self.send_media("photo"),
            "senddocument": self.send_media("document"),
            "sendvideo": self.send_media("video"),
            "sendaudio": self.send_media("audio"),
            "sendvoice": self.send_media("voice"),
            "sendanimation": self.send_media("animation"),
            "sendvideonote": self.send_media("video_note"),
            "sendsticker": self.send_media("sticker"),
            "sendlocation": self.send_location,
            "sendcontact": self.send_contact,
            "senddice": self.send_dice,
            "sendpoll": self.send_poll,
            "sendmediagroup": self.send_media_group,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "editmessagemedia": self.edit_message_media,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "createforumtopic": self.create_forum_topic,
            "closeforumtopic": self.close_forum_topic,
            "reopenforumtopic": self.reopen_forum_topic,
            "getfile": self.get_file,
            "getmycommands": self.empty_list,
            "setmydescription": self.set_description("description", MAX_DESCRIPTION),
            "setmyshortdescription": self.set_description(
                "short_description", MAX_SHORT_DESCRIPTION
            ),
            "getmydescription": self.get_description("description"),
            "getmyshortdescription": self.get_description("short_description"),
            "getwebhookinfo": self.get_webhook_info,
        }

    # --- getters ---------------------------------------------------------------------------

    async def true(self, params: JSONDict) -> bool:
        return True

    async def empty_list(self, params: JSONDict) -> list[Any]:
        return []

    async def get_me(self, params: JSONDict) -> JSONDict:
        return dict(self.store.bot_user)

    async def get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def get_chat(self, params: JSONDict) -> JSONDict:
        return {
            **self.store.chat(chat_id_of(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def get_chat_member(self, params: JSONDict) -> JSONDict:
        user_id = int(params.get("user_id") or 0)
        chat_id = chat_id_of(params)
        if user_id in (self.store.bot_user["id"], int(params.get("bot_id") or 0)):
            rights = self.store.bot_rights.get(chat_id)
            if rights is not None:
                return {
                    **ADMIN_RIGHTS,
                    **rights,
                    "status": "administrator",
                    "user": dict(self.store.bot_user),
                }
            return {"status": "member", "user": dict(self.store.bot_user)}
        return {"status": "member", "user": self.store.user(user_id)}

    # --- forum topics ----------------------------------------------------------------------

    async def create_forum_topic(self, params: JSONDict) -> JSONDict:
        chat_id = chat_id_of(params)
        if not self.store.chat(chat_id).get("is_forum"):
            raise bad_request("the chat is not a forum")
        if not self.store.bot_rights.get(chat_id, {}).get("can_manage_topics"):
            raise bad_request("not enough rights to create a topic")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_NAME_INVALID")
        # Telegram numbers a topic by the service message that opens it.
        thread = self.store.new_message_id(chat_id)
        self.store.topics.setdefault(chat_id, {})[thread] = {"name": name, "closed": False}
        return {"message_thread_id": thread, "name": name, "icon_color": 0x6FB9F0}

    async def close_forum_topic(self, params: JSONDict) -> bool:
        chat_id = chat_id_of(params)
        topic = self.store.topics.get(chat_id, {}).get(int(params.get("message_thread_id") or 0))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        if topic["closed"]:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = True
        return True

    async def reopen_forum_topic(self, params: JSONDict) -> bool:
        chat_id = chat_id_of(params)
        topic = self.store.topics.get(chat_id, {}).get(int(params.get("message_thread_id") or 0))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        if not topic["closed"]:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = False
        return True

    async def get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        content = self.store.files.setdefault(file_id, f"fake content of {file_id}".encode())
        return {
            "file_id": file_id,
            "file_unique_id": hashlib.sha1(file_id.encode()).hexdigest()[:16],
            "file_size": len(content),
            "file_path": f"files/{file_id}",
        }

    # --- the bot's descriptions -------------------------------------------------------------

    def _descriptions(self, field: str) -> dict[str, str]:
        return self.store.descriptions if field == "description" else self.store.short_descriptions

    def set_description(self, field: str, limit: int) -> Handler:
        """setMyDescription / setMyShortDescription: kept per language_code; an empty or
        missing text removes that language's own."""

        async def handler(params: JSONDict) -> bool:
            text = str(params.get(field) or "")
            if len(text) > limit:
                raise bad_request(f"{field.replace('_', ' ')} is too long")
            kept = self._descriptions(field)
            lang = str(params.get("language_code") or "")
            if text:
                kept[lang] = text
            else:
                kept.pop(lang, None)
            return True

        return handler

    def get_description(self, field: str) -> Handler:
        async def handler(params: JSONDict) -> JSONDict:
            lang = str(params.get("language_code") or "")
            return {field: self._descriptions(field).get(lang, "")}

        return handler

    # --- sending ---------------------------------------------------------------------------

    async def send_message(self, params: JSONDict) -> JSONDict:
        content, raw = text_content(params)
        return self.store.bot_message(params, "sendMessage", content, raw)

    def send_media(self, kind: str) -> Handler:
        method = "send" + "".join(part.capitalize() for part in kind.split("_"))

        async def handler(params: JSONDict) -> JSONDict:
            value = params.get(kind)
            if value is None or value == "":
                raise bad_request(f"there is no {kind} in the request")
            content = self.store.media_content(kind, value, params)
            caption, raw = caption_content(params)
            return self.store.bot_message(params, method, {**content, **caption}, raw)

        return handler

    async def send_location(self, params: JSONDict) -> JSONDict:
        location = {
            "latitude": float(params.get("latitude") or 0),
            "longitude": float(params.get("longitude") or 0),
        }
        return self.store.bot_message(params, "sendLocation", {"location": location})

    async def send_contact(self, params: JSONDict) -> JSONDict:
        contact = {
            "phone_number": str(params.get("phone_number") or ""),
            "first_name": str(params.get("first_name") or ""),
        }
        return self.store.bot_message(params, "sendContact", {"contact": contact})

    async def send_dice(self, params: JSONDict) -> JSONDict:
        dice = {"emoji": str(params.get("emoji") or "🎲"), "value": 3}
        return self.store.bot_message(params, "sendDice", {"dice": dice})

    async def send_poll(self, params: JSONDict) -> JSONDict:
        options = params.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= 12:
            raise bad_request("POLL_OPTIONS_INVALID")
        poll_type = str(params.get("type") or "regular")
        poll: JSONDict = {
            "id": str(10**15 + next(self.store.ids)),
            "question": str(params.get("question") or ""),
            "options": [
                {
                    "persistent_id": str(index),
                    "text": option.get("text", "") if isinstance(option, dict) else str(option),
                    "voter_count": 0,
                }
                for index, option in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)),
            "type": poll_type,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", poll_type != "quiz")),
            "members_only": False,
        }
        if "correct_option_id" in params:
            poll["correct_option_id"] = params["correct_option_id"]
        return self.store.bot_message(params, "sendPoll", {"poll": poll}, poll["question"])

    async def send_media_group(self, params: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request("there is no media in the request")
        group_id = str(10**17 + next(self.store.ids))
        params = {key: value for key, value in params.items() if key != "reply_markup"}
        messages = []
        for item in media:
            if not isinstance(item, dict):
                raise bad_request("can't parse InputMedia")
            kind = str(item.get("type", "photo"))
            content = self.store.media_content(kind, item.get("media"), params)
            caption, raw = caption_content(item)
            messages.append(
                self.store.bot_message(
                    params,
                    "sendMediaGroup",
                    {**content, **caption},
                    raw,
                    {"media_group_id": group_id},
                )
            )
        return messages

    # --- copying and forwarding ------------------------------------------------------------

    def _source(self, params: JSONDict) -> tuple[JSONDict, StoredMessage | None]:
        from_chat = norm_chat(params.get("from_chat_id"))
        message_id = int(params.get("message_id") or 0)
        stored = self.store.find(from_chat, message_id) if isinstance(from_chat, int) else None
        if stored is None:
            return {}, None
        message = stored.message
        return {k: copy.deepcopy(message[k]) for k in CONTENT_KEYS if k in message}, stored

    async def copy_message(self, params: JSONDict) -> JSONDict:
        content, stored = self._source(params)
        raw = (stored.raw_text if stored else None) or content.get("text") or content.get("caption")
        if "caption" in params and "text" not in content:
            content.pop("caption_entities", None)
            caption, raw = caption_content(params)
            content.pop("caption", None)
            content.update(caption)
        message = self.store.bot_message(params, "copyMessage", content, raw)
        return {"message_id": message["message_id"]}

    async def forward_message(self, params: JSONDict) -> JSONDict:
        content, stored = self._source(params)
        now = int(time.time())
        origin: JSONDict
        if stored is None:
            origin = {"type": "hidden_user", "sender_user_name": "Member", "date": now}
        elif "from" in stored.message:
            origin = {
                "type": "user",
                "sender_user": stored.message["from"],
                "date": stored.message["date"],
            }
        else:
            origin = {
                "type": "channel",
                "chat": stored.message["chat"],
                "message_id": stored.message["message_id"],
                "date": stored.message["date"],
            }
        raw = stored.raw_text if stored else None
        return self.store.bot_message(
            params, "forwardMessage", content, raw, {"forward_origin": origin}
        )

    # --- editing and deleting --------------------------------------------------------------

    def _editable(self, params: JSONDict) -> StoredMessage | None:
        """The stored bot message addressed by an edit* call (None for inline messages)."""
        if params.get("inline_message_id"):
            return None
        chat_id = chat_id_of(params)
        message_id = int(params.get("message_id") or 0)
        stored = self.store.find(chat_id, message_id)
        if stored is None or not stored.from_bot or stored.deleted:
            raise bad_request("message to edit not found")
        return stored

    def _apply_edit(
        self,
        stored: StoredMessage,
        content: JSONDict,
        drop: Iterable[str],
        markup: Any,
        raw_text: str | None,
    ) -> JSONDict:
        validate_markup(markup)
        message = stored.message
        old = {key: message.get(key) for key in (*content, *drop)}
        new = {key: content.get(key) for key in old}
        if old == new and inline(markup) == inline(stored.reply_markup):
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        for key in drop:
            message.pop(key, None)
        message.update(content)
        message.pop("reply_markup", None)
        if inline(markup) is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        stored.reply_markup = markup if isinstance(markup, dict) else None
        if raw_text is not None:
            stored.raw_text = raw_text
        stored.seq = next(self.store.seq)
        return copy.deepcopy(message)

    async def edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        content, raw = text_content(params)
        if stored is None:
            return True
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        markup = params.get("reply_markup")
        return self._apply_edit(stored, content, ["entities"], markup, raw)

    async def edit_message_caption(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        content, raw = caption_content(params)
        if stored is None:
            return True
        if "text" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        markup = params.get("reply_markup")
        return self._apply_edit(stored, content, ["caption", "caption_entities"], markup, raw)

    async def edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        if stored is None:
            return True
        return self._apply_edit(stored, {}, [], params.get("reply_markup"), None)

    async def edit_message_media(self, params: JSONDict) -> JSONDict | bool:
        stored = self._editable(params)
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("there is no media in the request")
        if stored is None:
            return True
        if "text" in stored.message:
            raise bad_request("there is no media in the message to edit")
        kind = str(media.get("type", "photo"))
        content = self.store.media_content(kind, media.get("media"), params)
        caption, raw = caption_content(media)
        media_keys = ["photo", "document", "video", "audio", "animation"]
        drop = [*media_keys, "caption", "caption_entities"]
        return self._apply_edit(
            stored, {**content, **caption}, drop, params.get("reply_markup"), raw or ""
        )

    async def delete_message(self, params: JSONDict) -> bool:
        chat_id = chat_id_of(params)
        stored = self.store.find(chat_id, int(params.get("message_id") or 0))
        if stored is not None:
            stored.deleted = True
        return True

    async def delete_messages(self, params: JSONDict) -> bool:
        chat_id = chat_id_of(params)
        ids = params.get("message_ids")
        for message_id in ids if isinstance(ids, list) else []:
            stored = self.store.find(chat_id, int(message_id))
            if stored is not None:
                stored.deleted = True
        return True
