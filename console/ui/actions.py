"""Every key and command of the console, in one registry.

The registry feeds the key bindings of the app and of each screen, the command palette
(ctrl+p: the current screen's actions and the console's, only those the signed-in role
may take) and the README's key table (a test compares them). A new action is one entry
here plus its `action_*` method on the app or the screen named by its scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from console.domain.staff import Role, may
from console.i18n import N_, _

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
        """The key binding, its footer label and tooltip in the current language."""
        return Binding(self.key, self.action, _(self.label), show=self.show, priority=self.priority, id=self.id,
                       tooltip=_(self.help) if self.help else "")

    def allowed(self, role: Role | None, *, demo: bool) -> bool:
        """Whether the palette offers this action to `role` (None: nobody signed in)."""
        if self.demo_only and not demo:
            return False
        if role is None:
            return False
        return self.permission is None or may(role, self.permission)


ACTIONS: tuple[BoothAction, ...] = (
    # -- the console (dashboard) -----------------------------------------------------------
    BoothAction("booth.exit_by_plate", APP, "f2", "exit_by_plate", N_("Exit by plate"), N_("Exit by plate"),
                N_("Type a plate the camera missed: find its visit and take its fee")),
    BoothAction("booth.pay_next", APP, "f3", "pay_next", N_("Pay next"), N_("Pay next waiting exit"),
                N_("Open the exit desk for the vehicle waiting longest")),
    BoothAction("booth.manual_gate", APP, "f4", "manual_gate", N_("Gate by hand"), N_("Move a barrier by hand"),
                N_("Open or close a barrier with a reason (audited)")),
    BoothAction("booth.occupancy", APP, "f6", "occupancy", N_("Occupancy"), N_("Repair occupancy"),
                N_("Correct a zone's count or close stale visits (audited)")),
    BoothAction("booth.receipts", APP, "f7", "receipts", N_("Receipts"), N_("Last receipts / reprint"),
                N_("The newest receipts and their print state; Enter reprints")),
    BoothAction("booth.elevator", APP, "f8", "elevator", N_("Elevator"), N_("Elevator snapshots and rides"),
                N_("Latest exit portraits, ride log, open a ride (audited)")),
    BoothAction("booth.theme", APP, "f9", "next_theme", N_("Theme"), N_("Next theme"),
                N_("Switch between the dark and the high-contrast daylight theme")),
    BoothAction("booth.close_shift", APP, "f10", "close_shift", N_("Close shift"), N_("Close shift / hand over"),
                N_("Count the drawer, close or hand over, see the Z report")),
    BoothAction("booth.reports", APP, "f11", "manager_reports", N_("Reports"), N_("Manager reports"),
                N_("Revenue, occupancy, dwell times, overrides (managers only)"), permission="report.manager"),
    BoothAction("booth.charging", APP, "f12", "charging", N_("Charging"), N_("Charging piles"),
                N_("Ports, running sessions, faults and maintenance records")),
    BoothAction("booth.language", APP, "ctrl+o", "switch_language", N_("Language"), N_("Switch language / 切换语言"),
                N_("Switch the console between English and Simplified Chinese for this session")),
    BoothAction("booth.lock", APP, "ctrl+l", "lock", N_("Lock"), N_("Lock the console"), N_("Lock until someone signs in with a PIN")),
    BoothAction("booth.autopay", APP, "ctrl+a", "toggle_autopay", N_("Auto-pay"), N_("Toggle demo auto-pay"),
                N_("Demo only: pay every exit automatically"), demo_only=True),
    BoothAction("booth.quit", APP, "ctrl+q", "quit", N_("Quit"), help=N_("Leave the console"), priority=True),
    # -- the exit desk ---------------------------------------------------------------------
    # The ctrl keys take priority over the input fields' own editing keys (ctrl+k, ctrl+w,
    # ctrl+u...): at the exit desk the fields hold only amounts and codes.
    BoothAction("exit.back", "exit-desk", "escape", "leave", N_("Back (vehicle keeps waiting)")),
    BoothAction("exit.exact", "exit-desk", "f5", "exact", N_("Exact amount"), N_("Exact amount"), N_("Fill in the amount due")),
    BoothAction("exit.next5", "exit-desk", "f6", "round_up(5)", N_("Next 5"), N_("Next 5"), N_("Fill in the next multiple of 5")),
    BoothAction("exit.next10", "exit-desk", "f7", "round_up(10)", N_("Next 10"), N_("Next 10"), N_("Fill in the next multiple of 10")),
    BoothAction("exit.next50", "exit-desk", "f8", "round_up(50)", N_("Next 50"), N_("Next 50"), N_("Fill in the next multiple of 50")),
    BoothAction("exit.card", "exit-desk", "ctrl+k", "part('card')", N_("Card"), N_("Card part"),
                N_("Card: amount (empty = the rest), approval code below"), priority=True),
    BoothAction("exit.account", "exit-desk", "ctrl+t", "part('account')", N_("Account"), N_("Account part"),
                N_("Account: amount (empty = the rest), account id below"), priority=True),
    BoothAction("exit.change_left", "exit-desk", "ctrl+g", "change_left", N_("Change left"), N_("Change left"),
                N_("The driver leaves the change"), priority=True),
    BoothAction("exit.fee_change", "exit-desk", "ctrl+e", "override('fee_change')", N_("Change fee"), N_("Change the fee"),
                N_("A new fee, with a reason (a manager's PIN above the limit)"), priority=True),
    BoothAction("exit.waive", "exit-desk", "ctrl+w", "override('waive')", N_("Waive"), N_("Waive the fee"),
                N_("No fee, with a reason (a manager's PIN above the limit)"), priority=True),
    BoothAction("exit.validation", "exit-desk", "ctrl+v", "override('validation')", N_("Validation"), N_("Merchant validation"),
                N_("Apply a merchant's validation code"), priority=True),
    BoothAction("exit.unpaid", "exit-desk", "ctrl+u", "unpaid", N_("Unpaid exit"), N_("Unpaid exit"),
                N_("Leave owing the fee; it comes up at the next exit"), priority=True),
    BoothAction("exit.mobile", "exit-desk", "ctrl+r", "mobile", N_("Phone QR"), N_("Pay by phone"),
                N_("Show a payment QR for the driver's phone"), priority=True),
    BoothAction("exit.journal", "exit-desk", "ctrl+b", "journal", N_("Open and journal"), N_("Open and journal"),
                N_("Database down: keep the payment in hand in the emergency journal and open"), priority=True),
    # -- other screens ------------------------------------------------------------------------
    BoothAction("charging.back", "charging", "escape", "app.pop_screen", N_("Back")),
    BoothAction("charging.note", "charging", "n", "note", N_("Close record with note"), N_("Close maintenance record"),
                N_("Close the selected fault's maintenance record")),
    BoothAction("charging.start", "charging", "s", "start", N_("Start session"), N_("Start charging"),
                N_("Start charging: pile, port and card, or a pasted QR code")),
    BoothAction("charging.stop", "charging", "x", "stop", N_("Stop session"), N_("Stop charging"),
                N_("Stop the selected port's running session and settle it")),
    BoothAction("charging.cards", "charging", "c", "cards", N_("Cards"), N_("Charging cards"),
                N_("Bind a card by its QR, block a lost card, top up, usage; landlords' piles")),
    BoothAction("elevator.close", "elevator", "escape", "close", N_("Back"), help=N_("Back to the dashboard")),
    BoothAction("elevator.search", "elevator", "slash", "focus_search", N_("Search"), N_("Search rides"),
                N_("Search by card, floor, day or time range")),
    BoothAction("elevator.reload", "elevator", "f5", "reload", N_("Reload"), N_("Reload rides"), N_("Load the latest rides and snapshots")),
    BoothAction("ride.close", "ride", "escape", "close", N_("Close")),
    BoothAction("receipts.close", "receipts", "escape", "close", N_("Close")),
    BoothAction("gate.cancel", "manual-gate", "escape", "cancel", N_("Cancel")),
    BoothAction("occupancy.cancel", "occupancy", "escape", "cancel", N_("Cancel")),
    BoothAction("choice.later", "plate-choice", "escape", "cancel", N_("Later")),
    BoothAction("unknown.later", "unknown-entry", "escape", "cancel", N_("Later")),
    BoothAction("override.cancel", "override", "escape", "cancel", N_("Cancel")),
    BoothAction("confirm.yes", "confirm", "enter", "yes", N_("Yes"), priority=True),
    BoothAction("confirm.no", "confirm", "escape", "no", N_("No")),
    BoothAction("plate.cancel", "plate-prompt", "escape", "cancel", N_("Cancel")),
    BoothAction("plate.down", "plate-prompt", "down", "walk(1)", N_("Next"),
                help=N_("The next province in the picker, or the plate's next reading"), show=False),
    BoothAction("plate.up", "plate-prompt", "up", "walk(-1)", N_("Previous"),
                help=N_("The previous province in the picker, or the plate's previous reading"), show=False),
    BoothAction("signin.quit", "sign-in", "ctrl+q", "app.quit", N_("Quit")),
    # The lock screen is modal (the console's keys do not reach it): its own language key,
    # so whoever walks up may read the other language before signing in.
    BoothAction("signin.language", "sign-in", "ctrl+o", "app.switch_language", N_("Language")),
    BoothAction("open_shift.later", "open-shift", "escape", "cancel", N_("Later"),
                help=N_("Leave the drawer closed for now: no cash until it is opened (sign in again)")),
    BoothAction("close.cancel", "close-shift", "escape", "cancel", N_("Cancel")),
    BoothAction("shift_report.back", "shift-report", "escape", "back", N_("Back")),
    BoothAction("shift_report.reload", "shift-report", "r", "reload", N_("Reload"), N_("Reload the report"),
                N_("Build the report again from the records")),
    BoothAction("shift_report.print", "shift-report", "p", "print", N_("Print"), N_("Print the report"),
                N_("Print the report on the receipt printer")),
    BoothAction("shift_report.export", "shift-report", "e", "export", N_("Export"), N_("Export CSV and PDF"),
                N_("Write the report as CSV and PDF")),
    BoothAction("reports.back", "manager-reports", "escape", "back", N_("Back")),
    BoothAction("reports.today", "manager-reports", "f5", "preset(1)", N_("Today"), N_("Report: today"), N_("Show today")),
    BoothAction("reports.week", "manager-reports", "f6", "preset(7)", N_("7 days"), N_("Report: 7 days"), N_("The last 7 days, today included")),
    BoothAction("reports.month", "manager-reports", "f7", "preset(30)", N_("30 days"), N_("Report: 30 days"),
                N_("The last 30 days, today included")),
)


def actions_for(scope: str) -> list[BoothAction]:
    """The actions of one scope, in registry order."""
    return [a for a in ACTIONS if a.scope == scope]


def bindings_for(scope: str) -> list[BindingType]:
    """The key bindings of one scope (a screen's BINDINGS, or the app's)."""
    return [a.binding() for a in actions_for(scope)]


def retranslate_bindings(node: DOMNode) -> None:
    """Give the registry's bindings of `node` their labels in the current language (after
    the language was switched: bindings are built once, when the node is made)."""
    by_id = {a.id: a for a in ACTIONS}
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [_relabelled(b, by_id[b.id]) if b.id in by_id else _palette(b) if b.action in _PALETTE else b for b in bindings]


# Textual's own command palette binding, shown at the footer's right.
_PALETTE = ("command_palette", "app.command_palette")
PALETTE_LABEL = N_("palette")
PALETTE_HELP = N_("Open the command palette")


def _palette(binding: Binding) -> Binding:
    return replace(binding, description=_(PALETTE_LABEL), tooltip=_(PALETTE_HELP))


def _relabelled(binding: Binding, action: BoothAction) -> Binding:
    # replace() keeps a key the user rebound (App.set_keymap).
    return replace(binding, description=_(action.label), tooltip=_(action.help) if action.help else "")


def works_now(node: DOMNode, action: BoothAction) -> bool:
    """Whether `node` (the screen, or the app for the console's keys) takes `action` in its
    present state: its `check_action` says yes (not "no", nor "shown but disabled")."""
    name, _sep, rest = action.action.partition("(")
    params: tuple[object, ...] = ()
    if rest:
        params = tuple(p.strip().strip("'\"") for p in rest.rstrip(")").split(","))
    return node.check_action(name, params) is True
