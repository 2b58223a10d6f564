"""What every flow shares: the app it works for, and workers that never fail silently."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual.notifications import SeverityLevel

if TYPE_CHECKING:
    from console.site.site import Site
    from console.ui.app import BoothApp


class Flow:
    """A controller owned by the app. Workers run on the app's worker manager; a worker
    that raises is reported by the app's worker-failure handler."""

    def __init__(self, app: BoothApp) -> None:
        self.app = app

    @property
    def site(self) -> Site:
        """The running site (flows are only entered once it has started)."""
        site = self.app.site
        assert site is not None, "a flow ran before the site started"
        return site

    @property
    def attendant(self) -> str:
        return self.app.attendant

    def in_thread(self, work: Callable[[], None], *, group: str, exclusive: bool = True) -> None:
        """Run blocking `work` (a site command and what follows it) in a thread worker."""
        self.app.run_worker(work, thread=True, exclusive=exclusive, group=group, exit_on_error=False)

    def later(self, callback: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Call `callback` on the UI thread (from a worker)."""
        self.app.call_from_thread(callback, *args, **kwargs)

    def notify(self, message: str, *, severity: SeverityLevel = "information", timeout: float = 4) -> None:
        """A notification, from any thread."""
        self.app.notify_anywhere(message, severity=severity, timeout=timeout)
