"""No class of the console's UI defines a name that Textual's own base classes already
use, unless it is one of Textual's documented hooks: a shadowed internal (`_closed`,
`_ready`, `_attach`...) breaks Textual in ways no other test may notice."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import textual

import console.ui

# Names Textual asks subclasses to define or override.
HOOKS = {
    "__init__", "compose", "render", "render_line", "BINDINGS", "DEFAULT_CSS", "CSS", "CSS_PATH", "TITLE", "SUB_TITLE",
    "COMMANDS", "AUTO_FOCUS", "COMPONENT_CLASSES", "can_replace", "get_content_width", "get_content_height",
    "search", "discover", "startup", "shutdown", "bubble", "ALLOW_SELECT", "can_focus", "can_focus_children",
    # docs/guide/actions.md ("Dynamic actions") and docs/guide/command_palette.md ("System commands")
    "check_action", "get_system_commands",
}
HOOK_PREFIXES = ("on_", "action_", "watch_", "validate_", "compute_", "_on_", "_watch_", "key_")


def _textual_names(cls: type) -> set[str]:
    """Attributes Textual's classes in `cls`'s bases define: class members and every
    `self.x = ...` in their source."""
    names: set[str] = set()
    for base in cls.__mro__[1:]:
        module = getattr(base, "__module__", "")
        if not module.startswith("textual"):
            continue
        names.update(vars(base))
        try:
            tree = ast.parse(inspect.getsource(base))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def _own_names(cls: type) -> set[str]:
    """What the class's own source defines: methods and class attributes of its body, and
    private attributes it assigns (`self._x = ...`). Assigning a public attribute Textual
    offers (`self.title = ...`, `self.theme = ...`) is using it, not shadowing it."""
    tree = ast.parse(_dedented(cls))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and isinstance(node.ctx, ast.Store):
            if node.attr.startswith("_"):
                names.add(node.attr)
    return names


def _dedented(cls: type) -> str:
    import textwrap

    return textwrap.dedent(inspect.getsource(cls))


def _ui_classes() -> list[type]:
    found: list[type] = []
    root = Path(console.ui.__file__).parent
    for info in pkgutil.walk_packages([str(root)], prefix="console.ui."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module.__name__ and any(b.__module__.startswith("textual") for b in obj.__mro__[1:]):
                found.append(obj)
    return found


def test_ui_classes_do_not_shadow_textual_names() -> None:
    assert textual.__version__
    clashes: list[str] = []
    for cls in _ui_classes():
        inherited = _textual_names(cls)
        for name in sorted(_own_names(cls) & inherited):
            if name in HOOKS or name.startswith(HOOK_PREFIXES) or (name.startswith("__") and name.endswith("__")):
                continue
            clashes.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert clashes == [], "UI classes shadow Textual's own names: " + ", ".join(clashes)
