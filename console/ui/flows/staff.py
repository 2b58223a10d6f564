"""People at the console: the first manager, signing in, the idle lock, the drawer's
shift (open, close, hand over) and the reports that follow."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console.domain.staff import User, may
from console.i18n import N_, _
from console.locations import data_dir
from console.site.errors import SiteError
from console.ui.flows.base import Flow
from console.ui.screens.staff import (
    ClosedShift,
    CloseShiftScreen,
    FirstManagerScreen,
    OpenShiftScreen,
    SignedIn,
    SignInScreen,
)

if TYPE_CHECKING:
    from console.store.shifts import Shift


ROLES = {"attendant": N_("attendant"), "manager": N_("manager")}


class StaffFlow(Flow):
    """Who is at the keyboard, and whose drawer it is."""

    def check(self) -> None:
        """On start without a given attendant: the first manager, or the sign-in."""
        self.in_thread(self._check, group="staff")

    def _check(self) -> None:
        try:
            first = self.site.staff.needs_first_manager()
        except SiteError as exc:
            self.notify(_("cannot read the users: {error}").format(error=exc), severity="error", timeout=10)
            first = False
        self.later(self.first_manager if first else self.sign_in)

    def first_manager(self) -> None:
        def created(user: User | None) -> None:
            if user is not None:
                self.sign_in(user.name)

        self.app.push_screen(FirstManagerScreen(self.site.staff), created)

    def sign_in(self, last_user: str = "", *, locked: bool = False) -> None:
        """Cover the console until someone signs in with a PIN; the lanes stay in view.
        After a lock the form waits for Enter, so keys typed meanwhile go nowhere."""
        screen = SignInScreen(self.site.staff, self.app.config.site.name, last_user, lanes=self.site.board.lanes(),
                              tz=self.app.config.site.tz, armed=not locked, plate_text=self.app.config.site.plates.display)
        self.app.push_screen(screen, self._signed_in)

    def lock(self) -> None:
        if self.app.site is None or self.app.screen.id == "sign-in":
            return
        last = self.app.user.name if self.app.user else ""
        self.app.sign_out()
        self.sign_in(last, locked=True)

    def lock_when_idle(self, minutes: float) -> None:
        """Called on a timer: lock after `minutes` without a key."""
        if self.app.user is not None and not self.app.demo and time.monotonic() - self.app.last_activity > minutes * 60:
            self.lock()

    def _signed_in(self, result: SignedIn | None) -> None:
        if result is None:
            return
        user, shift = result.user, result.shift
        previous = self.app.attendant
        self.app.signed_in(user)
        if previous and previous != user.name:
            # A desk opened by the previous attendant must not take money under their name.
            self.app.exits.close_desks_for(user.name)
        self.app.notify(_("signed in: {name} ({role})").format(name=user.name, role=_(ROLES.get(user.role.value, user.role.value))), timeout=3)
        if shift is None:
            self.open_shift()
        elif shift.attendant != user.name:
            self.app.notify(_("the drawer belongs to the shift of {name}: no payment can be taken until it is closed or handed over (F10)").format(name=shift.attendant), severity="warning", timeout=8)

    def open_shift(self) -> None:
        def opened(shift: Shift | None) -> None:
            if shift is not None:
                self.app.notify(_("shift open, float {amount}").format(amount=shift.opening_float), timeout=3)
            else:
                self.app.notify(_("the drawer is not open: no cash can be taken. Lock (ctrl+l) and sign in again to open it"),
                                severity="warning", timeout=8)

        self.app.push_screen(OpenShiftScreen(self.site.staff, self.attendant), opened)

    # -- closing the shift and the reports --------------------------------------------------------
    def close_shift(self) -> None:
        def closed(result: ClosedShift | None) -> None:
            if result is None:
                return
            self.show_shift_report(result.shift.id)
            if result.handed_over_to:
                self.lock()

        self.app.push_screen(CloseShiftScreen(self.site.staff, self.attendant), closed)

    def show_shift_report(self, shift_id: str) -> None:
        """The Z report of a shift: on screen, P prints it, E exports CSV and PDF."""
        from console.reports.model import ShiftReport
        from console.reports.printout import shift_report_document
        from console.reports.queries import booth_scope, build_shift_report
        from console.ui.screens.shift_report import ShiftReportScreen

        site = self.site
        config = self.app.config
        lanes = booth_scope(site.store.engine, (lane.id for lane in config.lanes))

        def fetch() -> ShiftReport:
            return build_shift_report(site.store.engine, shift_id, config.site.tz, site_name=config.site.name, lanes=lanes)

        def print_report(report: ShiftReport) -> int:
            return site.documents.print_document(shift_report_document(report), kind="shift_report", actor=self.attendant)

        self.app.push_screen(ShiftReportScreen(fetch, on_print=print_report, export_dir=data_dir() / "reports"))

    def manager_reports(self) -> None:
        user = self.app.user
        if user is None or not may(user.role, "report.manager"):
            self.app.notify(_("manager reports are for managers: a manager signs in (ctrl+l) to open them"), severity="error", timeout=6)
            return
        from console.reports.queries import build_manager_report
        from console.ui.screens.reports import ManagerReportsScreen

        site = self.site
        tz = self.app.config.site.tz
        currency = self.app.config.site.currency
        today = site.clock.now().astimezone(tz).date()
        self.app.push_screen(
            ManagerReportsScreen(lambda start, end: build_manager_report(site.store.engine, start, end, tz, currency=currency), today=today)
        )
