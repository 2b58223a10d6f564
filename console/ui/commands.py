"""The booth's actions in the command palette (ctrl+p), from the action registry: the
current screen's actions and the console's, only those the signed-in role may take."""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.domain.staff import Role
from console.i18n import _
from console.ui.actions import APP, BoothAction, actions_for, works_now


@runtime_checkable
class _Console(Protocol):
    """What the palette asks of the app."""

    demo: bool

    def signed_in_role(self) -> Role | None: ...


class BoothCommands(Provider):
    """Palette entries for the booth's own actions."""

    def _offered(self) -> list[tuple[BoothAction, str]]:
        """(action, where it runs): the screen's own actions, then the console's when the
        dashboard is showing (they do nothing on other screens)."""
        app = self.app
        console = app if isinstance(app, _Console) else None
        role = console.signed_in_role() if console is not None else None
        demo = bool(console.demo) if console is not None else False
        screen = self.screen
        scopes: list[tuple[str, str]] = [(screen.id or "", "screen")]
        if screen.id == "dashboard":
            scopes.append((APP, "app"))
        offered: list[tuple[BoothAction, str]] = []
        for scope, target in scopes:
            judge = app if target == "app" else screen
            for action in actions_for(scope):
                if action.title and action.allowed(role, demo=demo) and works_now(judge, action):
                    offered.append((action, target))
        return offered

    def _run(self, action: BoothAction, target: str) -> None:
        screen = self.screen
        if target == "screen":
            self.app.call_later(self.app.run_action, action.action, screen)
        else:
            self.app.call_later(self.app.run_action, action.action)

    async def discover(self) -> Hits:
        for action, target in self._offered():
            yield DiscoveryHit(_(action.title), partial(self._run, action, target), help=f"{action.key} · {_(action.help)}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action, target in self._offered():
            # Found by its English title too: an attendant may know the console in either.
            title = _(action.title)
            score = max(matcher.match(title), matcher.match(action.title))
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action, target), help=f"{action.key} · {_(action.help)}")
