"""Elevator rides: a gallery of the latest exit snapshots, the ride log with a search
box, and a ride opened with its snapshot shown large. Every snapshot shown is audited
(the service writes "ride.snapshot_viewed"); data is loaded in worker threads.

Pictures are drawn with textual-image: a terminal graphics protocol (Sixel, Kitty) when
the terminal has one, otherwise coloured half blocks, which every terminal shows.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label

from console import formats
from console.i18n import N_, _, ngettext
from console.site.events import RideRecorded, SiteEvent, SnapshotsPurged
from console.ui.actions import bindings_for
from console.ui.widgets.halfblock import HalfBlockImage

# textual-image asks the terminal about graphics support when first imported; that must
# happen before the app takes the terminal over, hence the import at module level. It
# fails on a terminal that reports no size (a console started before its window is set
# up): the console then draws pictures with its own half blocks instead of not starting.
try:
    from textual_image.renderable import Image as _BestRenderable
    from textual_image.renderable import SixelImage as _SixelRenderable
    from textual_image.renderable import TGPImage as _TGPRenderable
    from textual_image.widget import HalfcellImage
    from textual_image.widget import Image as _BestImage
except Exception:  # noqa: BLE001 - any failure of the probe means: no graphics protocol
    _BestRenderable = _SixelRenderable = _TGPRenderable = None  # type: ignore[assignment,misc]
    _BestImage = HalfcellImage = HalfBlockImage  # type: ignore[assignment,misc]

from console.domain.rides import RideKind, RideQueryError, flag_reason_text, floor_label
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.table_fill import fill_table

if TYPE_CHECKING:  # the store (and SQLAlchemy) stays out of the screen's start-up imports
    from console.store.rides import RideSummary

# A graphics protocol when the terminal has one; coloured half blocks otherwise (the
# library's own fallback off a terminal is plain Unicode shading, too coarse for faces).
SnapshotImage = _BestImage if _BestRenderable in (_SixelRenderable, _TGPRenderable) else HalfcellImage


class RideSource(Protocol):
    """What the screens need from the elevator service (all blocking: called in workers)."""

    tz: ZoneInfo

    def search(self, text: str, limit: int = 200) -> list[RideSummary]: ...

    def gallery(self, count: int, *, actor: str) -> list[tuple[RideSummary, bytes]]: ...

    def open_snapshot(self, ride_id: str, *, actor: str) -> tuple[RideSummary | None, bytes | None]: ...


def _picture(jpeg: bytes) -> PILImage.Image | None:
    """The snapshot as an image, or None when the bytes are not a readable picture."""
    try:
        image = PILImage.open(io.BytesIO(jpeg))
        image.load()
        return image
    except Exception:  # PIL raises many kinds for damaged data; a bad picture must not crash the screen
        return None


def _when(at: datetime | None, tz: ZoneInfo) -> str:
    """A ride's moment in the list and the detail ("02.03. 09:00:05" / "03-02 09:00:05")."""
    return formats.short_date_time(at, tz, seconds=True) if at else "-"


def _status(ride: RideSummary) -> str:
    if ride.kind is RideKind.UNCLAIMED:
        return _("unclaimed stop")
    if ride.kind is RideKind.TIMEOUT:
        return _("timed out: {reason}").format(reason=flag_reason_text(ride.flag_reason))
    if ride.flagged:
        return _("CHECK: {reason}").format(reason=flag_reason_text(ride.flag_reason))
    return _("ok")


def _snapshot_state(ride: RideSummary) -> str:
    if ride.has_snapshot:
        return _("face") if ride.snapshot_face else _("frame")
    if ride.snapshot_purged_at is not None:
        return _("purged")
    return _("none")


class SnapshotTile(Vertical):
    """One snapshot of the gallery with its caption."""

    DEFAULT_CSS = """
    SnapshotTile { width: 24; height: 100%; margin: 0 1 0 0; }
    SnapshotTile > .tile-image { width: 24; height: 1fr; }
    SnapshotTile > Label { width: 100%; height: 1; }
    SnapshotTile.flagged > Label { color: $warning; }
    """

    def __init__(self, ride: RideSummary, jpeg: bytes, tz: ZoneInfo) -> None:
        super().__init__(classes="flagged" if ride.flagged else "")
        self.ride = ride
        self._jpeg = jpeg
        self._tz = tz

    def compose(self) -> ComposeResult:
        picture = _picture(self._jpeg)
        if picture is None:
            yield Label(_("(damaged picture)"), classes="tile-image")
        else:
            yield SnapshotImage(picture, classes="tile-image")
        r = self.ride
        yield Label(f"{formats.clock(r.doors_open_at, self._tz) if r.doors_open_at else '-'} {r.card or '?'} {floor_label(r.floor)}")


class ElevatorScreen(Screen[None]):
    """Latest exit snapshots and the searchable ride log; Enter opens a ride."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("elevator")
    SITE_EVENTS: ClassVar[tuple[type[SiteEvent], ...]] = (RideRecorded, SnapshotsPurged)
    DEFAULT_CSS = """
    ElevatorScreen { layout: vertical; }
    ElevatorScreen #gallery { height: 14; max-height: 40%; border: round $primary; padding: 0 1; }  /* the ride log keeps its rows at 80x24 */
    ElevatorScreen #gallery-empty { color: $text-muted; }
    ElevatorScreen #search { margin: 0 0; }
    ElevatorScreen #message { height: 1; color: $warning; padding: 0 1; }
    ElevatorScreen #rides { height: 1fr; }
    """

    def __init__(self, source: RideSource, actor: str, *, gallery_size: int = 6) -> None:
        super().__init__(id="elevator")
        self.source = source
        self.actor = actor
        self.gallery_size = gallery_size
        self.rides: list[RideSummary] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="gallery") as gallery:
            gallery.border_title = _("Latest exit snapshots")
            yield Label(_("loading..."), id="gallery-empty")
        # Short enough for an 80-column screen in every language (the Input is 76 wide).
        yield Input(placeholder=_("card 04A1, floor -2 or B2, day 2026-03-02, time 08:00-09:30, flagged"), id="search")
        yield Label("", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="rides")
        yield KeyHints("elevator", [(N_("Enter"), N_("open the ride"))])

    def on_mount(self) -> None:
        table = self.query_one("#rides", DataTable)
        fill_table(table, self._headers(), [])
        table.focus()
        self.load_gallery()
        self.load_rides("")

    # -- loading ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="elevator-gallery", exit_on_error=False)
    def load_gallery(self) -> None:
        items = self.source.gallery(self.gallery_size, actor=self.actor)
        self.app.call_from_thread(self.call_later, self._show_gallery, items)

    async def _show_gallery(self, items: list[tuple[RideSummary, bytes]]) -> None:
        gallery = self.query_one("#gallery", Horizontal)
        await gallery.remove_children()
        if not items:
            await gallery.mount(Label(_("no snapshots yet"), id="gallery-empty"))
            return
        await gallery.mount_all([SnapshotTile(ride, jpeg, self.source.tz) for ride, jpeg in items])

    @work(thread=True, exclusive=True, group="elevator-rides", exit_on_error=False)
    def load_rides(self, text: str) -> None:
        try:
            rides = self.source.search(text)
        except RideQueryError as exc:
            self.app.call_from_thread(self._say, str(exc))
            return
        except Exception as exc:  # the database may be busy or gone: say so, keep the screen
            self.app.call_from_thread(self._say, _("rides not loaded: {error}").format(error=exc))
            return
        self.app.call_from_thread(self._show_rides, rides, text)

    @staticmethod
    def _headers() -> list[str]:
        return [_("time"), _("car"), _("card"), _("class"), _("from"), _("floor"), _("fee"), _("snapshot"), _("status")]

    def _say(self, text: str) -> None:
        self.query_one("#message", Label).update(text)

    def _show_rides(self, rides: list[RideSummary], text: str) -> None:
        self.rides = rides
        self.query_text = text
        table = self.query_one("#rides", DataTable)
        tz = self.source.tz
        fill_table(table, self._headers(), [(r.id, (
            _when(r.doors_open_at, tz), str(r.car), r.card or "-", r.card_class or "-",
            floor_label(r.from_floor) if r.from_floor is not None else "-", floor_label(r.floor),
            str(r.fee) if r.kind is RideKind.RIDE else "-", _snapshot_state(r), _status(r)[:60],
        )) for r in rides])
        if rides:
            found = ngettext("{count} record", "{count} records", len(rides)).format(count=len(rides))
            self._say(found + (_(" for “{text}”").format(text=text) if text else ""))
        else:
            self._say(_("no rides found for “{text}”").format(text=text) if text else _("no rides found"))

    # -- actions ------------------------------------------------------------------------------
    @on(Input.Submitted, "#search")
    def search(self, event: Input.Submitted) -> None:
        self.load_rides(event.value.strip())
        self.query_one("#rides", DataTable).focus()

    @on(DataTable.RowSelected, "#rides")
    def open_ride(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(RideScreen(self.source, event.row_key.value, self.actor))

    def show_site_event(self, event: SiteEvent) -> None:
        """A new record arrived or old snapshots were purged (routed here by the app)."""
        self.action_reload()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_reload(self) -> None:
        self.load_rides(self.query_text)
        self.load_gallery()

    def action_close(self) -> None:
        self.app.pop_screen()


class RideScreen(ModalScreen[None]):
    """One ride with its snapshot shown large. Opening it is audited."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("ride")
    DEFAULT_CSS = """
    RideScreen { align: center middle; }
    RideScreen > Horizontal { width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    RideScreen #picture { width: 1fr; height: 100%; }
    RideScreen #picture > .big-image { width: 100%; height: 100%; }
    RideScreen #details { width: 44; height: 100%; padding: 0 1; }
    """

    def __init__(self, source: RideSource, ride_id: str, actor: str) -> None:
        super().__init__(id="ride")
        self.source = source
        self.ride_id = ride_id
        self.actor = actor
        self.ride: RideSummary | None = None

    def compose(self) -> ComposeResult:
        with Horizontal() as box:
            box.border_title = _("Ride · Esc closes")
            with Vertical(id="picture"):
                yield Label("loading snapshot...", id="picture-state")
            yield Label("", id="details")
        yield KeyHints("ride")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="ride-open", exit_on_error=False)
    def load(self) -> None:
        try:
            ride, jpeg = self.source.open_snapshot(self.ride_id, actor=self.actor)
        except Exception as exc:
            self.app.call_from_thread(self.query_one("#picture-state", Label).update, f"not loaded: {exc}")
            return
        self.app.call_from_thread(self.call_later, self._show, ride, jpeg)

    async def _show(self, ride: RideSummary | None, jpeg: bytes | None) -> None:
        self.ride = ride
        state = self.query_one("#picture-state", Label)
        if ride is None:
            state.update(_("no such ride"))
            return
        picture = _picture(jpeg) if jpeg else None
        if picture is not None:
            await state.remove()
            await self.query_one("#picture", Vertical).mount(SnapshotImage(picture, classes="big-image"))
        elif jpeg:
            state.update(_("the stored picture is damaged"))
        elif ride.snapshot_purged_at is not None:
            state.update(_("snapshot deleted on {day} (retention period)").format(day=formats.day(ride.snapshot_purged_at, self.source.tz)))
        else:
            state.update(_("no snapshot for this record"))
        tz = self.source.tz
        rows = [
            (_("kind"), ride.kind.value),
            (_("card"), ride.card or "-"),
            (_("class"), ride.card_class or "-"),
            (_("account"), ride.account_id or "-"),
            (_("car"), str(ride.car)),
            (_("from"), floor_label(ride.from_floor) if ride.from_floor is not None else "-"),
            (_("floor"), floor_label(ride.floor)),
            (_("swiped"), _when(ride.swiped_at, tz)),
            (_("arrived"), _when(ride.arrived_at, tz)),
            (_("doors"), _when(ride.doors_open_at, tz)),
            (_("fee"), f"{ride.fee if ride.kind is RideKind.RIDE else '-'} ({ride.price_rule or '-'})"),
            (_("snapshot"), _("{state}, {size} bytes").format(state=_snapshot_state(ride), size=ride.snapshot_bytes)),
            ("", ride.snapshot_note or ""),
            ("", ""),
            (_("status"), _status(ride)),
        ]
        width = max(cell_len(name) for name, _value in rows) + 2  # Chinese labels take two cells a character
        self.query_one("#details", Label).update("\n".join(name + " " * (width - cell_len(name)) + value for name, value in rows))

    def action_close(self) -> None:
        self.dismiss(None)
