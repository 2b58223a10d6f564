"""Every key and command of the console, in one registry.

The registry feeds the key bindings of the app and of each screen, the command palette
(ctrl+p: the current screen's actions and the console's, only those the signed-in role
may take) and the README's key table (a test compares them). A new action is one entry
here plus its `action_*` method on the app or the screen named by its scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from console.domain.staff import Role, may

# Scopes: "app" actions work from the dashboard (the app's own bindings); any other scope
# is the id of the screen whose bindings they are.
APP = "app"


@dataclass(frozen=True, slots=True)
class BoothAction:
    """One action: its key, what the footer and the palette call it, who may use it."""

    id: str  # binding id, also the name users rebind it by (`App.set_keymap`)
    scope: str
    key: str
    action: str  # the Textual action string ("exit_by_plate", "round_up(5)")
    label: str  # footer
    title: str = ""  # palette ("" = not in the palette)
    help: str = ""  # tooltip and palette help
    permission: str | None = None  # a domain action name (console.domain.staff.may)
    demo_only: bool = False
    priority: bool = False
    show: bool = True

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.label, show=self.show, priority=self.priority, id=self.id, tooltip=self.help)

    def allowed(self, role: Role | None, *, demo: bool) -> bool:
        """Whether the palette offers this action to `role` (None: nobody signed in)."""
        if self.demo_only and not demo:
            return False
        if role is None:
            return False
        return self.permission is None or may(role, self.permission)


ACTIONS: tuple[BoothAction, ...] = (
    # -- the console (dashboard) -----------------------------------------------------------
    BoothAction("booth.exit_by_plate", APP, "f2", "exit_by_plate", "Exit by plate", "Exit by plate",
                "Type a plate the camera missed: find its visit and take its fee"),
    BoothAction("booth.pay_next", APP, "f3", "pay_next", "Pay next", "Pay next waiting exit",
                "Open the exit desk for the vehicle waiting longest"),
    BoothAction("booth.manual_gate", APP, "f4", "manual_gate", "Gate by hand", "Move a barrier by hand",
                "Open or close a barrier with a reason (audited)"),
    BoothAction("booth.occupancy", APP, "f6", "occupancy", "Occupancy", "Repair occupancy",
                "Correct a zone's count or close stale visits (audited)"),
    BoothAction("booth.receipts", APP, "f7", "receipts", "Receipts", "Last receipts / reprint",
                "The newest receipts and their print state; Enter reprints"),
    BoothAction("booth.elevator", APP, "f8", "elevator", "Elevator", "Elevator snapshots and rides",
                "Latest exit portraits, ride log, open a ride (audited)"),
    BoothAction("booth.theme", APP, "f9", "next_theme", "Theme", "Next theme",
                "Switch between the dark and the high-contrast daylight theme"),
    BoothAction("booth.close_shift", APP, "f10", "close_shift", "Close shift", "Close shift / hand over",
                "Count the drawer, close or hand over, see the Z report"),
    BoothAction("booth.reports", APP, "f11", "manager_reports", "Reports", "Manager reports",
                "Revenue, occupancy, dwell times, overrides (managers only)", permission="report.manager"),
    BoothAction("booth.charging", APP, "f12", "charging", "Charging", "Charging piles",
                "Ports, running sessions, faults and maintenance records"),
    BoothAction("booth.lock", APP, "ctrl+l", "lock", "Lock", "Lock the console", "Lock until someone signs in with a PIN"),
    BoothAction("booth.autopay", APP, "ctrl+a", "toggle_autopay", "Auto-pay", "Toggle demo auto-pay",
                "Demo only: pay every exit automatically", demo_only=True),
    BoothAction("booth.quit", APP, "ctrl+q", "quit", "Quit", help="Leave the console", priority=True),
    # -- the exit desk ---------------------------------------------------------------------
    # The ctrl keys take priority over the input fields' own editing keys (ctrl+k, ctrl+w,
    # ctrl+u...): at the exit desk the fields hold only amounts and codes.
    BoothAction("exit.back", "exit-desk", "escape", "leave", "Back (vehicle keeps waiting)"),
    BoothAction("exit.exact", "exit-desk", "f5", "exact", "Exact amount", "Exact amount", "Fill in the amount due"),
    BoothAction("exit.next5", "exit-desk", "f6", "round_up(5)", "Next 5", "Next 5", "Fill in the next multiple of 5"),
    BoothAction("exit.next10", "exit-desk", "f7", "round_up(10)", "Next 10", "Next 10", "Fill in the next multiple of 10"),
    BoothAction("exit.next50", "exit-desk", "f8", "round_up(50)", "Next 50", "Next 50", "Fill in the next multiple of 50"),
    BoothAction("exit.card", "exit-desk", "ctrl+k", "part('card')", "Card", "Card part",
                "Card: amount (empty = the rest), approval code below", priority=True),
    BoothAction("exit.account", "exit-desk", "ctrl+t", "part('account')", "Account", "Account part",
                "Account: amount (empty = the rest), account id below", priority=True),
    BoothAction("exit.change_left", "exit-desk", "ctrl+g", "change_left", "Change left", "Change left",
                "The driver leaves the change", priority=True),
    BoothAction("exit.fee_change", "exit-desk", "ctrl+e", "override('fee_change')", "Change fee", "Change the fee",
                "A new fee, with a reason (a manager's PIN above the limit)", priority=True),
    BoothAction("exit.waive", "exit-desk", "ctrl+w", "override('waive')", "Waive", "Waive the fee",
                "No fee, with a reason (a manager's PIN above the limit)", priority=True),
    BoothAction("exit.validation", "exit-desk", "ctrl+v", "override('validation')", "Validation", "Merchant validation",
                "Apply a merchant's validation code", priority=True),
    BoothAction("exit.unpaid", "exit-desk", "ctrl+u", "unpaid", "Unpaid exit", "Unpaid exit",
                "Leave owing the fee; it comes up at the next exit", priority=True),
    BoothAction("exit.mobile", "exit-desk", "ctrl+r", "mobile", "Phone QR", "Pay by phone",
                "Show a payment QR for the driver's phone", priority=True),
    # -- other screens ------------------------------------------------------------------------
    BoothAction("charging.back", "charging", "escape", "app.pop_screen", "Back"),
    BoothAction("charging.note", "charging", "n", "note", "Close record with note", "Close maintenance record",
                "Close the selected fault's maintenance record"),
    BoothAction("charging.start", "charging", "s", "start", "Start session", "Start charging",
                "Start charging: pile, port and card, or a pasted QR code"),
    BoothAction("charging.stop", "charging", "x", "stop", "Stop session", "Stop charging",
                "Stop the selected port's running session and settle it"),
    BoothAction("elevator.close", "elevator", "escape", "close", "Back", help="Back to the dashboard"),
    BoothAction("elevator.search", "elevator", "slash", "focus_search", "Search", "Search rides",
                "Search by card, floor, day or time range"),
    BoothAction("elevator.reload", "elevator", "f5", "reload", "Reload", "Reload rides", "Load the latest rides and snapshots"),
    BoothAction("ride.close", "ride", "escape", "close", "Close"),
    BoothAction("receipts.close", "receipts", "escape", "close", "Close"),
    BoothAction("gate.cancel", "manual-gate", "escape", "cancel", "Cancel"),
    BoothAction("occupancy.cancel", "occupancy", "escape", "cancel", "Cancel"),
    BoothAction("choice.later", "plate-choice", "escape", "cancel", "Later"),
    BoothAction("unknown.later", "unknown-entry", "escape", "cancel", "Later"),
    BoothAction("override.cancel", "override", "escape", "cancel", "Cancel"),
    BoothAction("plate.cancel", "plate-prompt", "escape", "cancel", "Cancel"),
    BoothAction("signin.quit", "sign-in", "ctrl+q", "app.quit", "Quit"),
    BoothAction("close.cancel", "close-shift", "escape", "cancel", "Cancel"),
    BoothAction("shift_report.back", "shift-report", "escape", "back", "Back"),
    BoothAction("shift_report.reload", "shift-report", "r", "reload", "Reload", "Reload the report",
                "Build the report again from the records"),
    BoothAction("shift_report.print", "shift-report", "p", "print", "Print", "Print the report",
                "Print the report on the receipt printer"),
    BoothAction("shift_report.export", "shift-report", "e", "export", "Export", "Export CSV and PDF",
                "Write the report as CSV and PDF"),
    BoothAction("reports.back", "manager-reports", "escape", "back", "Back"),
    BoothAction("reports.today", "manager-reports", "f5", "preset(1)", "Today", "Report: today", "Show today"),
    BoothAction("reports.week", "manager-reports", "f6", "preset(7)", "7 days", "Report: 7 days", "The last 7 days, today included"),
    BoothAction("reports.month", "manager-reports", "f7", "preset(30)", "30 days", "Report: 30 days",
                "The last 30 days, today included"),
)


def actions_for(scope: str) -> list[BoothAction]:
    """The actions of one scope, in registry order."""
    return [a for a in ACTIONS if a.scope == scope]


def bindings_for(scope: str) -> list[BindingType]:
    """The key bindings of one scope (a screen's BINDINGS, or the app's)."""
    return [a.binding() for a in actions_for(scope)]
