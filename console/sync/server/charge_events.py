"""The booth's events that follow a charging session asked from a phone
(`charge_phone`): started or refused, its running figures, its close."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.engine import Connection

from console.sync.server import db as cdb

PHONE_STARTED = "charging.phone_started"
PHONE_REFUSED = "charging.phone_refused"
PROGRESS = "charging.progress"
SESSION_CLOSED = "charging.session_closed"


# -- events from the booth -------------------------------------------------------------------------
class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subject: str = Field(min_length=1, max_length=64)


class StartedIn(_Event):
    """`charging.phone_started`: the request (subject) started session `session`."""

    session: str = Field(min_length=1, max_length=36)
    hold_minor: int = Field(default=0, ge=0, le=10**12)


class RefusedIn(_Event):
    """`charging.phone_refused`: the request (subject) was not started, and why."""

    error: str = Field(default="", max_length=2000)


class ProgressIn(_Event):
    """`charging.progress`: a phone session's (subject) running figures."""

    energy_wh: int = Field(ge=0, le=10**9)
    seconds: int = Field(ge=0, le=10**8)
    fee_minor: int = Field(ge=0, le=10**12)


class ClosedIn(_Event):
    """`charging.session_closed` (every session; those of phones end their request)."""

    energy_wh: int = Field(default=0, ge=0, le=10**9)
    seconds: int = Field(default=0, ge=0, le=10**8)
    bill_minor: int = Field(default=0, ge=0, le=10**12)
    refund_minor: int = Field(default=0, ge=0, le=10**12)
    reason: str = Field(default="", max_length=2000)


PROJECTED: dict[str, type[BaseModel]] = {PHONE_STARTED: StartedIn, PHONE_REFUSED: RefusedIn, PROGRESS: ProgressIn, SESSION_CLOSED: ClosedIn}


def book(conn: Connection, site_id: str, events: Sequence[BaseModel], at: datetime) -> None:
    """Follow a site's phone requests with the booth's events (each booked once)."""
    r = cdb.charge_request.c
    mine = r.site_id == site_id
    for x in events:
        if isinstance(x, StartedIn):
            conn.execute(update(cdb.charge_request).where(mine, r.request_id == x.subject, r.state == "queued")
                         .values(state="started", session_id=x.session, hold_minor=x.hold_minor, updated_at=at))
        elif isinstance(x, RefusedIn):
            conn.execute(update(cdb.charge_request).where(mine, r.request_id == x.subject, r.state == "queued")
                         .values(state="refused", detail=x.error[:300], updated_at=at))
        elif isinstance(x, ProgressIn):
            conn.execute(update(cdb.charge_request).where(mine, r.session_id == x.subject, r.state == "started")
                         .values(energy_wh=x.energy_wh, seconds=x.seconds, fee_minor=x.fee_minor, updated_at=at))
        elif isinstance(x, ClosedIn):
            conn.execute(update(cdb.charge_request).where(mine, r.session_id == x.subject, r.state.in_(("queued", "started")))
                         .values(state="closed", energy_wh=x.energy_wh, seconds=x.seconds, fee_minor=x.bill_minor,
                                 refund_minor=x.refund_minor, detail=x.reason[:300], updated_at=at))
