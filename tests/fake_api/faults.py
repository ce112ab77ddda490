"""Errors a test injects: a status and description (retry_after for a 429), for one method
(and one chat), a number of times, after a delay; `status=0` only delays."""

from __future__ import annotations

from dataclasses import dataclass

from tests.fake_api.params import JSONDict, norm_chat


@dataclass
class Fault:
    method: str  # lower-cased
    status: int
    description: str
    retry_after: int | None
    times: int  # < 0: unlimited
    chat_id: int | str | None
    delay: float


def make_fault(
    method: str,
    *,
    status: int,
    description: str | None,
    retry_after: int | None,
    times: int,
    chat_id: int | str | None,
    delay: float,
) -> Fault:
    """A 429 always carries retry_after (default 1), as Telegram's do."""
    if status == 429 and retry_after is None:
        retry_after = 1
    return Fault(
        method=method.lower(),
        status=status,
        description=description or default_description(status, retry_after),
        retry_after=retry_after,
        times=times,
        chat_id=norm_chat(chat_id),
        delay=delay,
    )


def take_fault(faults: list[Fault], method: str, params: JSONDict) -> Fault | None:
    """The first fault for this call, counted down (and removed when it runs out)."""
    chat_id = norm_chat(params.get("chat_id"))
    for fault in faults:
        if fault.method != method or (fault.chat_id is not None and fault.chat_id != chat_id):
            continue
        if fault.times > 0:
            fault.times -= 1
            if fault.times == 0:
                faults.remove(fault)
        return fault
    return None


def default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }.get(status, "Internal Server Error" if status >= 500 else "Error")
