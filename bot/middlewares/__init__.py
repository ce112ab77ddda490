"""The dispatcher's outer middlewares and the bot session's request middleware.

`updates`: what every update passes (live FAQ, in-flight count, database session, FAQ
events, who is writing); `flood`: flood control; `private_chats`: updates from groups and
channels are not served; `isolation`: one update at a time per member; `requests`: Bot API
request middlewares.
"""

from bot.middlewares.flood import (
    FLOOD_NOTICE,
    Flood,
    FloodControl,
    FloodCounter,
    FloodLimits,
    MemoryFloodCounter,
    RedisFloodCounter,
)
from bot.middlewares.isolation import MemberIsolation
from bot.middlewares.private_chats import PrivateChatsOnly
from bot.middlewares.requests import EditsThatChangeNothing
from bot.middlewares.updates import (
    DbSessionMiddleware,
    FaqEventsAfterReply,
    InFlight,
    LiveFaq,
    PeopleMiddleware,
)

__all__ = [
    "FLOOD_NOTICE",
    "DbSessionMiddleware",
    "EditsThatChangeNothing",
    "FaqEventsAfterReply",
    "Flood",
    "FloodControl",
    "FloodCounter",
    "FloodLimits",
    "InFlight",
    "LiveFaq",
    "MemberIsolation",
    "MemoryFloodCounter",
    "PeopleMiddleware",
    "PrivateChatsOnly",
    "RedisFloodCounter",
]
