"""Plates in the attendant's language: why a typed text is not a plate, and what kind
of plate it is. The domain names refusals by reason code with English templates marked
for the catalog; this module fills the translated template."""

from __future__ import annotations

from collections.abc import Mapping

from console.domain.plates import PlateError, PlateKind
from console.domain.plates.errors import KIND_NAMES, MESSAGES, REGION_NAMES, SCRIPT_NAMES
from console.i18n import _

_NAMED: tuple[tuple[str, Mapping[str, str]], ...] = (
    ("kind", KIND_NAMES),
    ("region", REGION_NAMES),
    ("regions", REGION_NAMES),
    ("scripts", SCRIPT_NAMES),
)


def _names(codes: str, names: Mapping[str, str]) -> str:
    spelled = [_(names[code]) if code in names else code.capitalize() for code in codes.split(",") if code]
    if len(spelled) <= 1:
        return "".join(spelled)
    return _("{first} and {last}").format(first=_(", ").join(spelled[:-1]), last=spelled[-1])


def refusal_text(error: PlateError) -> str:
    """Why the plate was refused, in the current language."""
    params: dict[str, str | int] = dict(error.params)
    for key, names in _NAMED:
        if key in error.params:
            params[f"{key}_name"] = _names(str(error.params[key]), names)
    if "expected" in params:  # "7 or 8", "1 to 12": the domain's only words in a number
        params["expected"] = str(params["expected"]).replace(" or ", _(" or ")).replace(" to ", _(" to "))
    return _(MESSAGES[error.reason]).format(plate=repr(error.text), **params)


def kind_text(kind: PlateKind) -> str:
    """The kind of plate, in the current language ("small new-energy", "Hong Kong")."""
    name = KIND_NAMES.get(kind.value) or KIND_NAMES.get(kind.region)
    return _(name) if name else kind.value
