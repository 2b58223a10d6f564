"""Every message the code marks for translation has a Chinese translation, the compiled
catalogs are those of the .po files, and translations keep their placeholders."""

from __future__ import annotations

import ast
import re
import string
from io import BytesIO
from pathlib import Path
from typing import Iterator

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from console.i18n import LANGUAGES, SOURCE_LANGUAGE, _, best_language, language, normalize_language

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "console" / "locale"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _code_messages() -> set[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "console"), keywords=KEYWORDS, comment_tags=()):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(code: str):  # type: ignore[no-untyped-def]
    with open(LOCALE / code / "LC_MESSAGES" / "booth.po", "rb") as handle:
        return read_po(handle)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_marked_message_is_translated() -> None:
    wanted = _code_messages()
    assert wanted, "no message is marked for translation"
    for code in LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        catalog = _catalog(code)
        missing = sorted(m for m in wanted if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy))
        assert missing == [], f"{code}: {len(missing)} messages without a translation (scripts/i18n.py update), e.g. {missing[:5]}"


def test_translations_keep_their_placeholders() -> None:
    for code in LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        for message in _catalog(code):
            if not message.id or not message.string:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for translated in strings:
                assert _fields(translated) == _fields(ids[0]), f"{code}: {ids[0]!r} -> {translated!r} changes the placeholders"


def _key(value: object) -> object:
    """A catalog id or string as a dict key: plural forms come back as lists."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_the_shipped_mo_files_are_compiled_from_the_po_files() -> None:
    for code in LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        compiled = BytesIO()
        write_mo(compiled, _catalog(code))
        with open(LOCALE / code / "LC_MESSAGES" / "booth.mo", "rb") as handle:
            shipped = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
        fresh = {_key(m.id): _key(m.string) for m in read_mo(BytesIO(compiled.getvalue())) if m.id}
        assert shipped == fresh, f"{code}: booth.mo is older than booth.po: run scripts/i18n.py compile"


def test_languages_by_name_and_by_browser() -> None:
    assert normalize_language("zh-CN") == normalize_language("zh_Hans") == normalize_language("ZH") == "zh_CN"
    assert normalize_language("en-GB") == "en"
    assert best_language("fr-FR,zh-CN;q=0.8,en;q=0.5") == "zh_CN"
    assert best_language("de, fr") == "en" and best_language(None) == "en"
    with language("zh_CN"):
        assert re.search(r"[\u4e00-\u9fff]", _("the site is still starting"))
    assert _("the site is still starting") == "the site is still starting"


def _names_bound_in(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.Name]:
    """Names the function itself binds (comprehensions and nested functions have their own scope)."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def test_no_function_hides_the_translation_function() -> None:
    # `a, _, b = text.partition(" ")` in a function that also calls _() turns every message
    # after it into a TypeError; nothing else catches it before a user does.
    hiding = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"
                        for n in ast.walk(node))
            if calls:
                hiding += [f"{path.relative_to(ROOT)}:{n.lineno} in {node.name}()"
                           for n in _names_bound_in(node) if n.id == "_"]
    assert hiding == [], "these bind _ and call _() too: " + ", ".join(hiding)


# -- what Babel can extract ---------------------------------------------------------------------

TRANSLATING = ("_", "N_", "ngettext")


def _module_strings(tree: ast.Module) -> set[str]:
    """Names a module binds, at its top, to a bare string (not marked with N_())."""
    names: set[str] = set()
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[union-attr]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _translation_calls() -> Iterator[tuple[str, ast.Call, list[ast.expr], set[str]]]:
    """(where, call, its message arguments, the module's bare string names) for every
    _(), N_() and ngettext() in console/."""
    for path in sorted((ROOT / "console").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bare = _module_strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSLATING:
                messages = node.args[:2] if node.func.id == "ngettext" else node.args[:1]
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node, messages, bare


def _why_not_extractable(call: ast.Call, message: ast.expr, bare: set[str]) -> str | None:
    """Why Babel cannot find the message of `call` in the source, or None when it can (a
    literal) or the argument looks a message up that is marked elsewhere: a name or
    attribute holding an N_() text, `TABLE[key]` / `TABLE.get(key, default)` over N_()
    texts, or `str(exc)` of an error raised with a translated message."""
    assert isinstance(call.func, ast.Name)
    if isinstance(message, ast.Constant):
        return None if isinstance(message.value, str) else "not a string"
    if call.func.id == "N_":
        return "N_() marks a literal only"
    if isinstance(message, ast.JoinedStr):
        return "an f-string (each value makes another msgid: use {name} and .format())"
    if isinstance(message, ast.BinOp):
        return "a concatenation or % format (translate the whole sentence, placeholders in it)"
    if isinstance(message, (ast.IfExp, ast.BoolOp)):
        return "a choice between texts (translate each: _(a) if c else _(b))"
    if isinstance(message, ast.Name) and message.id in bare:
        return f"{message.id} is a bare string constant (mark it with N_())"
    if isinstance(message, (ast.Name, ast.Attribute, ast.Subscript)):
        return None
    if isinstance(message, ast.Call):
        func = message.func
        if isinstance(func, ast.Attribute) and func.attr == "get":
            return None
        if isinstance(func, ast.Name) and func.id == "str" and len(message.args) == 1:
            return None
        return "a call's result (translate the literal first, then call: _(text).format(...))"
    return f"a {type(message).__name__}"


def test_every_translated_message_is_a_literal_or_a_marked_lookup() -> None:
    # Babel extracts literals only: _(f"...") or _("a" + b) puts nothing in the catalog,
    # and the attendant reads English whatever the language.
    found = [f"{where}: {ast.unparse(call)[:80]} is {why}"
             for where, call, messages, bare in _translation_calls()
             for message in messages
             if (why := _why_not_extractable(call, message, bare)) is not None]
    assert found == [], "messages Babel cannot extract:\n" + "\n".join(found)


def test_babel_extracts_every_literal_message() -> None:
    # Older tokenizers do not look inside f-strings: f"{_('all'):>9}" is a _() call that
    # Python runs but extraction may never see (then nothing can translate it).
    extracted: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "console"), keywords=KEYWORDS, comment_tags=()):
        extracted |= set(message) if isinstance(message, tuple) else {message}  # plural forms too
    missed = sorted({f"{where}: {message.value!r}"
                     for where, _call, messages, _bare in _translation_calls()
                     for message in messages
                     if isinstance(message, ast.Constant) and isinstance(message.value, str) and message.value not in extracted})
    assert missed == [], "Babel does not extract these (write them outside the f-string):\n" + "\n".join(missed)


def test_fee_lines_the_site_adds_are_translated() -> None:
    # A fee line shows on the desk and prints on the receipt: one written as an f-string
    # or a bare literal is English at a Chinese booth.
    untranslated = []
    for path in sorted((ROOT / "console" / "site").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "QuoteItem" and node.args:
                label = node.args[0]
                if isinstance(label, ast.JoinedStr) or (isinstance(label, ast.Constant) and isinstance(label.value, str)):
                    untranslated.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(label)[:70]}")
    assert untranslated == [], "fee lines not translated (_() and .format()):\n" + "\n".join(untranslated)
