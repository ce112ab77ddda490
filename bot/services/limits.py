"""Limits of what people send, defined once."""

# The longest text a person's one message may carry into what the bot stores: an appeal,
# a message in a conversation with a lawyer, a note, a union mailbox letter. Telegram
# itself allows 4,096 characters; this leaves room for the labels the bot adds.
MAX_TEXT = 3000
