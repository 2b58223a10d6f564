"""Errors the site reports to whoever sent a command, and the one boundary where store,
domain and unexpected errors become them."""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Callable, Iterator, ParamSpec, TypeVar

from console.domain.errors import DomainError
from console.domain.visits import Visit
from console.i18n import N_, _
from console.store.errors import StoreError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class SiteError(ValueError):
    """A command the site refused, with a message for the attendant. Nothing changed."""


class PlateNotFound(SiteError):
    """No open visit for the plate. `candidates` are open plates that differ only by
    plate-reader confusions (empty when nothing comes close)."""

    def __init__(self, plate: str, candidates: tuple[str, ...] = ()) -> None:
        self.plate = plate
        self.candidates = candidates
        if candidates:
            super().__init__(_("no visit for {plate}; did the reader mean {candidates}?").format(
                plate=plate, candidates=", ".join(candidates)))
        else:
            super().__init__(_("unknown plate {plate}: no visit found").format(plate=plate))


class AlreadyLeft(SiteError):
    """The plate's last stay has already been settled (a double exit); `visit` is that stay."""

    def __init__(self, message: str, visit: Visit) -> None:
        super().__init__(message)
        self.visit = visit


class LaneBusy(SiteError):
    """The exit lane already holds a waiting ticket for another vehicle: the attendant
    says whether the new plate replaces it (one ticket per lane)."""

    def __init__(self, lane_id: str, waiting_plate: str, due: str, plate: str) -> None:
        self.lane_id = lane_id
        self.waiting_plate = waiting_plate
        self.plate = plate
        super().__init__(_("{lane} already has {waiting} waiting ({due}); {plate} would replace it").format(
            lane=lane_id, waiting=waiting_plate, due=due, plate=plate))


class SettledElsewhere(SiteError):
    """The stay was settled meanwhile at another booth (or by an earlier press): nothing
    was charged here; the message names who settled it, where and when."""


@contextmanager
def refusals(not_recorded: str = N_("NOT recorded")) -> Iterator[None]:
    """The site's error boundary. Inside it:

    - a `SiteError` passes as it is;
    - a domain refusal (`DomainError`: bad amount, impossible time, rule broken) becomes
      a SiteError with its message;
    - a database failure (`StoreError`) becomes "`not_recorded`: <why>" — the caller says
      what was not recorded and what that means for the barrier;
    - anything else is a fault of the program: logged with its traceback, and reported
      as an internal error (the attendant never sees a traceback).

    `not_recorded` is a catalog message (`N_()`), said in the attendant's language when
    the error is raised; so are the store's explanations and fixed domain refusals.
    """
    try:
        yield
    except SiteError:
        raise
    except DomainError as exc:
        raise SiteError(_(str(exc))) from None
    except StoreError as exc:
        raise SiteError(_("{not_recorded}: {why}").format(not_recorded=_(not_recorded), why=_(str(exc)))) from None
    except Exception as exc:
        log.exception("site command failed")
        raise SiteError(_("internal error ({kind}): see the log file").format(kind=type(exc).__name__)) from None


def command(not_recorded: str = N_("NOT recorded")) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a site command so that it runs inside `refusals(not_recorded)`."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with refusals(not_recorded):
                return function(*args, **kwargs)

        return run

    return wrap
