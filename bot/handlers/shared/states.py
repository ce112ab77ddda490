"""FSM states of member conversations (stored in the database: they survive restarts)."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    language = State()
    member_org = State()
    workplace = State()
    consent = State()


class AppealDraft(StatesGroup):
    consent = State()
    topic = State()
    text = State()
    files = State()
    confirm = State()


class AddToAppeal(StatesGroup):
    message = State()


class Conversation(StatesGroup):
    # The member wrote while lawyers answer several of their appeals: which one is it for?
    choose = State()


class Mailbox(StatesGroup):
    text = State()
    confirm = State()


class LawyerReply(StatesGroup):
    message = State()


class LogAppeal(StatesGroup):
    # /log: a written or oral appeal, one question per state (bot/handlers/desk/log.py).
    channel = State()
    org = State()
    workplace = State()
    topic = State()
    received = State()
    summary = State()
    name = State()
    contact = State()
    confirm = State()


class Closing(StatesGroup):
    outcome = State()
    number = State()


class RatingComment(StatesGroup):
    comment = State()


class LawyerNote(StatesGroup):
    text = State()


class StatsDates(StatesGroup):
    dates = State()


class PostCompose(StatesGroup):
    # One state per step of composing a post; the buttons of a step work only in it.
    text_kk = State()
    text_ru = State()
    media = State()
    audience = State()
    survey = State()
    survey_kk = State()
    survey_ru = State()
    schedule = State()
    date = State()
    weekday = State()
    weekly_time = State()
    urgent = State()
    preview = State()


class FaqEditing(StatesGroup):
    # An editor types the new text of one part of an answer (the draft's `field`).
    text = State()


class SavedReplyForm(StatesGroup):
    # /replies: a new reply's title, then its text; a new title or text of one reply
    title = State()
    text = State()
    change = State()


class AnswerPreview(StatesGroup):
    # For one appeal (`preview_appeal`): words to search the FAQ for; the changed text of
    # the previewed answer
    search = State()
    text = State()
