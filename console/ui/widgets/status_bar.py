"""The bottom status line: site clock, devices, database, cloud link."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from textual.content import Content
from textual.widgets import Static

from console.formats import day_month
from console.i18n import N_, _
from drivers.health import DeviceHealth

# Devices report under their ids ("gate OUT1", "printer"); the line names them in the attendant's words.
DEVICES = {"printer": N_("printer"), "elevator": N_("elevator"), "exit-camera": N_("exit camera"), "backup": N_("backup"),
           "OCPP central system": N_("OCPP central system")}
DEVICE_KINDS = {"gate": N_("gate {id}"), "camera": N_("camera {id}"), "pile": N_("pile {id}")}
HEALTH = {"connecting": N_("connecting"), "ok": N_("ok"), "degraded": N_("degraded"), "fault": N_("fault"), "offline": N_("offline")}


def device_label(device: str) -> str:
    """A device's id as the attendant reads it: 道闸 OUT1, 打印机; an id not known here as it is."""
    if device in DEVICES:
        return _(DEVICES[device])
    kind, _space, ident = device.partition(" ")
    if ident and kind in DEVICE_KINDS:
        return _(DEVICE_KINDS[kind]).format(id=ident)
    return device


class StatusBar(Static):
    """Device health, cloud link and the site's local time."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, tz: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz = tz
        self.devices: dict[str, DeviceHealth] = {}
        self.cloud = ""  # the cloud link's own line; empty: not configured
        self.database = ""  # empty: the database answers
        self.flags: list[str] = []
        self.now: datetime | None = None

    def set_device(self, health: DeviceHealth) -> None:
        self.devices[health.device] = health
        self.refresh_text()

    def refresh_text(self) -> None:
        parts: list[str | tuple[str, str]] = []
        if self.now is not None:
            parts.append((f"{day_month(self.now, self.tz)} {self.now.astimezone(self.tz):%H:%M:%S}  ", "bold"))
        ok = sum(1 for h in self.devices.values() if h.state.value == "ok")
        # Theme colours only: the daylight theme's warning is as readable as its text.
        parts.append((_("devices {ok}/{total} ok").format(ok=ok, total=len(self.devices)), "$success" if ok == len(self.devices) else "bold $error"))
        for health in self.devices.values():
            if health.state.value != "ok":
                state = _(HEALTH[health.state.value]) if health.state.value in HEALTH else health.state.value
                parts.append(("  " + _("{device}: {state}").format(device=device_label(health.device), state=state), "$error"))
        database = self.database or _("db ok")
        cloud = self.cloud or _("cloud: not configured")
        parts.append(f"  · {database} · {cloud}")
        for flag in self.flags:
            parts.append((f"  [{flag}]", "bold $warning"))
        text = Content.assemble(*parts)
        self.update(text)
