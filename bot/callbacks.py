"""Every inline button's data, in one place. Telegram allows 64 bytes per button."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Every number in button data is a database id, a page or a score: a forged one outside
# PostgreSQL's INTEGER range would fail in the database, so it does not match the filter
# (the catch-all answers "outdated").
Num = Annotated[int, Field(ge=0, le=2**31 - 1)]


class LangCb(CallbackData, prefix="lang"):
    code: str


class OrgCb(CallbackData, prefix="org"):
    id: str


class WorkplaceCb(CallbackData, prefix="wp"):
    kind: str


class ConsentCb(CallbackData, prefix="consent"):
    agree: bool


class FaqCb(CallbackData, prefix="faq"):
    # action: open (a node or "" for the topics), hit (an answer from search results before
    # SearchCb), yes / no / nos (did the answer help; nos: from search results)
    action: str
    node: str = ""


class SearchCb(CallbackData, prefix="hit"):
    # An answer among the results of search `q` (its id in the member's FSM data): open it,
    # or nos ("did not help, ask a lawyer": the question typed there goes with the appeal)
    action: str
    node: str
    q: str


class AskCb(CallbackData, prefix="ask"):
    # source: search (the member's latest search, before SearchAskCb), menu
    source: str


class SearchAskCb(CallbackData, prefix="asks"):
    # "Ask a lawyer" under the results of search `q`: its typed question goes with the appeal
    q: str


class TopicCb(CallbackData, prefix="topic"):
    id: str


class DraftCb(CallbackData, prefix="draft"):
    # as_is, topic, files_done, anon, send, cancel; keep / restart (an unfinished draft
    # when the member starts another one)
    action: str


class MyCb(CallbackData, prefix="my"):
    # list (page), open (appeal id), add (appeal id)
    action: str
    value: Num = 0


class FeedbackCb(CallbackData, prefix="fb"):
    # kind (value = kind), send (value = signed / anonymous), cancel; anon: an older switch
    action: str
    value: str = ""


class InboxCb(CallbackData, prefix="inbox"):
    page: Num


class MenuCb(CallbackData, prefix="menu"):
    action: str


class DeskCb(CallbackData, prefix="desk"):
    # queue (page, topic filter), topics (filter picker), card, take, reply (start writing
    # to the member), note, release, files (send the appeal's files again)
    action: str
    value: Num = 0
    topic: str = ""


class ThreadCb(CallbackData, prefix="th"):
    # a page of an appeal's card (its thread), 0 = the first
    appeal: Num
    page: Num


class FindCb(CallbackData, prefix="fd"):
    # a page of /find's results (the words are in the FSM data: they may not fit here)
    page: Num


class MemberAppealsCb(CallbackData, prefix="ma"):
    # a page of the other appeals of the member who wrote `appeal`
    appeal: Num
    page: Num = 0


class ConvCb(CallbackData, prefix="cv"):
    # A member's message while a lawyer is talking with them: to (the message kept in the
    # conversation state goes to appeal `value`), new (it is a new question), undo (the
    # appeal message `value` was meant as a new question: take it back)
    action: str
    value: Num = 0


class StaffCb(CallbackData, prefix="st"):
    # list (back to /staff), pick (a person), role (set role; "lawyer" for someone who is
    # not one opens the region picker), revoke
    action: str
    staff_id: Num
    role: str = ""


class RegionsCb(CallbackData, prefix="reg"):
    # The member organisations of a lawyer, picked by an admin (the choice is kept in the
    # admin's FSM data until saved): open, org (toggle `org`), save
    action: str
    staff_id: Num
    org: str = ""


class InviteCb(CallbackData, prefix="inv"):
    # revoke (an open invite)
    action: str
    invite: Num


class JoinCb(CallbackData, prefix="join"):
    # yes / no: change one's staff role to the invite's; token: the one /join issued,
    # kept in FSM data with the code's hash
    action: str
    token: str = ""


class OutcomeCb(CallbackData, prefix="oc"):
    # open (start closing; asks first when the member never got an answer), sure (close
    # it all the same), t (toggle `field`), n (enter a number for `field`),
    # topic (pick), settopic (value in `field`), save
    action: str
    appeal: Num
    field: str = ""


class LogCb(CallbackData, prefix="log"):
    # /log, an appeal that came in writing or in person: ch (value: written|oral), org,
    # wp (workplace type), topic, day (today|yesterday), skip (value: the question skipped:
    # summary|name|contact), save (value: the draft's token), cancel
    action: str
    value: str = ""


class RateCb(CallbackData, prefix="rate"):
    appeal: Num
    score: Num  # 1-5; 0: "not solved"


class RateCommentCb(CallbackData, prefix="ratec"):
    appeal: Num


class HandCb(CallbackData, prefix="hand"):
    # menu, staff (to `target` staff id), regions (picker), org (to `org`)
    action: str
    appeal: Num
    target: Num = 0
    org: str = ""


class StatsCb(CallbackData, prefix="stats"):
    # period (chosen: show scopes), dates (type other dates), go (make the report)
    action: str
    period: str = ""  # Period.code()
    scope: str = ""  # an organisation id or "all"


class PostCb(CallbackData, prefix="post"):
    # Composing (the post in the press secretary's dialogue, a draft): skip (value: kk|ru,
    # no text in that language), media (none|keep), org / wp (toggle value), page, lang
    # (value: ""|kk|ru), every (audience reset), aud (audience done), survey (yes|no),
    # svskip (value: kk|ru), when (now|date|weekly), wd (weekday 0-6), urgent (1|0),
    # confirm, change (the menu of parts), part (value: the part to change), preview.
    # Managing (/posts): list, open, edit, cancel (asks), cancelyes, pause, resume,
    # approve, reject.
    action: str
    post: Num = 0
    value: str = ""


class ForgetCb(CallbackData, prefix="forget"):
    # yes (erase my data) / no (cancel); token: the one /forget issued, kept in FSM data
    action: str
    token: str = ""


class FaqEditCb(CallbackData, prefix="fe"):
    # The FAQ editors' screens (bot/handlers/desk/faq_editor.py): home, browse (a node, "" for
    # the topics), open (an answer's editor card: the draft starts from its published
    # texts), field (value: title:kk … refs:ru, type its new text), preview (value: kk|ru),
    # publish, sign (asks), signok (value: the version signed), history, restore (value:
    # a version; asks), restoreok, new (an answer under `node`), cancel (drop the draft),
    # list (value: unsigned|candidates|failing), cand (value: a candidate id), canddrop
    action: str
    node: str = ""
    value: str = ""


class RepliesCb(CallbackData, prefix="sr"):
    # /replies (bot/handlers/desk/replies.py): list (`lang`, page `value`), open (reply
    # `value`), new (a reply in `lang`: where it goes), where (`lang`, `where`: own, union or
    # an organisation id: type its title next), title / text (reply `value`: type the new
    # one), delete (reply `value`: asks), deleteok
    action: str
    value: Num = 0
    lang: str = ""
    where: str = ""


class PickCb(CallbackData, prefix="pk"):
    # On an appeal's card, for the lawyer who holds it: saved (the saved replies, page
    # `value`), reply (saved reply `value`: its preview), faq (the FAQ tree at `node`, ""
    # for the topics), search (type words to search the FAQ), answer (FAQ answer `node`:
    # its preview)
    action: str
    appeal: Num
    value: Num = 0
    node: str = ""


class PreviewCb(CallbackData, prefix="pv"):
    # The preview of a saved reply or FAQ answer for appeal `appeal`: send, edit (type a
    # changed text first), cancel; `token` names the preview kept in the lawyer's FSM data
    action: str
    appeal: Num
    token: str


class ForumCb(CallbackData, prefix="fm"):
    # A card's button in an appeal's topic of a staff group: take, release, card (the
    # desk's card in the private chat of whoever tapped)
    action: str
    appeal: Num


class TopicDeskCb(CallbackData, prefix="ft"):
    # Closing and handing over in an appeal's topic (bot/handlers/desk/topic_buttons.py):
    # close (start: asks first when the member never got an answer), pick (the outcome
    # picker with the outcome `value`, a bit mask: each button carries the mask it leads
    # to), save (close with `value`), private (the same draft on the closing screen in the
    # private chat, for amounts and the topic), cancel, propose (the closer's answer to
    # the FAQ editors, after closing); hand (the colleagues), regions, staff (to the
    # colleague `value`), org (to the region `org`)
    action: str
    appeal: Num
    value: Num = 0
    org: str = ""


class NewsCb(CallbackData, prefix="news"):
    # /news: union news on (1) or off (0) for the member who taps
    on: Annotated[int, Field(ge=0, le=1)]


class CommentAsQuestionCb(CallbackData, prefix="ratq"):
    # The comment just left on appeal `appeal`'s rating was a new question: search it
    appeal: Num
