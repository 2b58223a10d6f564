"""The site file: one TOML document, validated completely before anything starts."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from console.domain.money import CURRENCY_EXPONENTS, Money, MoneyError
from console.domain.plates import PROVINCES, REGIONS, PlateRules, plate_rules
from console.domain.tariff import Tariff, TariffError, parse_tariff
from console.i18n import LanguageError, _, normalize_language
from console.locations import tariffs_dir
from console.site.backup_config import BackupSection
from console.site.charging_config import ChargingSection
from console.site.elevator_config import ElevatorSection
from console.sync.urls import check_cloud_url

if TYPE_CHECKING:
    from console.store.engine import EngineSettings


class ConfigError(ValueError):
    """A site file that cannot be used. The message names the file and every bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SiteSection(_Strict):
    name: str = Field(min_length=1, max_length=80)
    booth_id: str = Field(default="booth-1", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    timezone: str = "UTC"
    currency: str = "EUR"
    # The plate regions the site reads (docs/plates.md); the default keeps the
    # letters-and-digits rule of sites outside China.
    plate_regions: tuple[str, ...] = Field(default=("latin",), strict=False)  # TOML gives a list
    # The site's own province: offered first when a mainland plate is typed.
    plate_province: str | None = None
    # A site whose devices are simulators (sim:// URLs): `booth run` refuses sim://
    # devices unless this is true, so simulated traffic never reaches a real site's
    # books by accident; `booth demo` allows them always.
    simulated: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("unknown time zone {value!r} (use an IANA name like Europe/Berlin)").format(value=value)) from None
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(_("unknown currency {value!r} (use an ISO 4217 code like EUR)").format(value=value))
        return value

    @field_validator("plate_regions")
    @classmethod
    def _known_regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(_("name at least one plate region (allowed: {value})").format(value=', '.join(REGIONS)))
        for region in value:
            if region not in REGIONS:
                raise ValueError(_("unknown plate region {region!r} (allowed: {value})").format(region=region, value=', '.join(REGIONS)))
        return tuple(dict.fromkeys(value))

    @field_validator("plate_province")
    @classmethod
    def _known_province(cls, value: str | None) -> str | None:
        if value is not None and value not in PROVINCES:
            raise ValueError(_("unknown province {value!r} (a province abbreviation, one of {PROVINCES})").format(value=value, PROVINCES=PROVINCES))
        return value

    @model_validator(mode="after")
    def _province_needs_mainland(self) -> SiteSection:
        if self.plate_province is not None and "cn" not in self.plate_regions:
            raise ValueError(f'plate_province: {self.plate_province} is a mainland province, but "cn" is not among plate_regions')
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def plates(self) -> PlateRules:
        """The site's plate rules: every part of the site normalizes plates with them."""
        return plate_rules(self.plate_regions, self.plate_province)


_TLS_FILES = ("sslrootcert", "sslcert", "sslkey")


class DatabaseSection(_Strict):
    """Where the booth keeps its records, and how it connects to a shared PostgreSQL server.

    Empty url: the booth's own SQLite file. The pool, timeout and TLS keys apply to
    PostgreSQL only (see packaging/INSTALL.md); a password never goes in this file.
    """

    url: str = ""
    # How long a writer waits for the database's lock before the booth reports it busy.
    busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    pool_size: int = Field(default=5, ge=1, le=100)
    max_overflow: int = Field(default=10, ge=0, le=100)
    connect_timeout_s: int = Field(default=10, ge=1, le=300)
    # 0: no limit. A lock wait on PostgreSQL lasts busy_timeout_ms unless lock_timeout_ms is set.
    statement_timeout_ms: int = Field(default=60_000, ge=0, le=3_600_000)
    lock_timeout_ms: int | None = Field(default=None, ge=0, le=600_000)
    # A transaction the server has not finished after this long is cut from the booth's
    # side (a frozen server or a dead link never fires its own timeouts). 0: never.
    stall_timeout_s: float = Field(default=20.0, ge=0, le=3600)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    sslrootcert: str | None = None  # the CA that signed the server's certificate
    sslcert: str | None = None  # this booth's client certificate ...
    sslkey: str | None = None  # ... and its private key (readable only by the booth's user)

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if not value:
            return value
        # Imported here: SQLAlchemy is a slow import, and an SQLite site never needs it here.
        from console.store.engine import StoreError, parse_database_url

        try:
            parsed = parse_database_url(value)
        except StoreError as exc:
            raise ValueError(str(exc)) from None
        if parsed.password:
            raise ValueError(
                "a password does not belong in the site file: use a client certificate "
                "(sslcert, sslkey) or the PostgreSQL password file ~/.pgpass"
            )
        return value

    @field_validator(*_TLS_FILES)
    @classmethod
    def _existing_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise ValueError(_("{value!r}: give an absolute path").format(value=value))
        if not path.is_file():
            raise ValueError(_("no file at {path}").format(path=path))
        return str(path)

    @model_validator(mode="after")
    def _tls_consistent(self) -> DatabaseSection:
        tls_given = [key for key in ("sslmode", *_TLS_FILES) if getattr(self, key) is not None]
        if tls_given and not self._postgresql:
            raise ValueError(_("{value}: TLS settings need a PostgreSQL url").format(value=', '.join(tls_given)))
        if (self.sslcert is None) != (self.sslkey is None):
            raise ValueError(_("sslcert and sslkey go together: give both or neither"))
        if self.sslmode in ("verify-ca", "verify-full") and self.sslrootcert is None:
            raise ValueError(_("sslmode {sslmode!r} needs sslrootcert (the CA that signed the server's certificate)").format(sslmode=self.sslmode))
        if self.pool_size + self.max_overflow < 2:
            # The cloud sync holds one connection while it sends a shared outbox; with no
            # second one the lanes and its own reads would wait for it.
            raise ValueError(_("pool_size + max_overflow must be at least 2 (the cloud sync holds one connection while it sends)"))
        return self

    @property
    def _postgresql(self) -> bool:
        if not self.url:
            return False
        from console.store.engine import is_postgresql

        return is_postgresql(self.url)

    def engine_settings(self, booth_id: str) -> EngineSettings:
        """The engine settings these keys describe; the booth id names its connections."""
        from console.store.engine import EngineSettings

        # Every key but the URL has a field of the same name in EngineSettings.
        return EngineSettings(**self.model_dump(exclude={"url"}), application_name=f"booth {booth_id}")


class TariffSection(_Strict):
    # A tariff file in the language of docs/tariffs.md. A relative name is looked up next
    # to the site file, then among the tariffs shipped with the console.
    file: str = Field(default="default.toml", min_length=1)


class ZoneSection(_Strict):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    capacity: int = Field(ge=0, le=100_000)


class LaneSection(_Strict):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    direction: Literal["entry", "exit"]
    zone: str
    gate: str = Field(min_length=1)
    # The lane's camera ("usb://0", "rtsp://...", "sim://"): its frame is kept with every
    # barrier moved by hand. Empty: no lane camera.
    camera: str = ""

    @field_validator("gate")
    @classmethod
    def _gate_url(cls, value: str) -> str:
        """The lane device URL is parsed here, so a bad one is named with the site file
        and its key before anything (the database among them) is opened."""
        from drivers.gate.factory import check_gate_url  # the drivers only when a file is checked

        check_gate_url(value)
        return value


class PrinterSection(_Strict):
    url: str = ""
    profile: str | None = None
    width: int = Field(default=42, ge=24, le=80)


class CameraSection(_Strict):
    url: str = ""


class CloudSection(_Strict):
    url: str = ""
    # The cloud's id of this site; empty: the cloud says which site the token belongs to.
    site_id: str = ""
    ca_bundle: str | None = None
    # Where the site token is kept (never in this file): "keyring" (the OS keyring of a
    # desktop session), "encrypted-file" (encrypted in the data folder with a key file
    # only the booth's user can read) or "systemd-credential" (an encrypted credential
    # the booth service is given at start). See packaging/INSTALL.md.
    secrets: Literal["keyring", "encrypted-file", "systemd-credential"] = "keyring"
    # encrypted-file: the key file ("" = secret.key in the config folder).
    key_file: str = ""
    # systemd-credential: the encrypted credential `booth cloud login` writes.
    credential_file: str = "/etc/credstore.encrypted/booth-cloud-token"

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        # https, or plain http to this machine only: checked here so a console never
        # starts half-configured and only fails at its first sync.
        if not value.strip():
            return ""
        try:
            return check_cloud_url(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("cloud.url: ")) from None

    @field_validator("ca_bundle")
    @classmethod
    def _bundle_exists(cls, value: str | None) -> str | None:
        if value and not Path(value).expanduser().is_file():
            raise ValueError(_("{ca_bundle} is not a file (the CA certificates the cloud's certificate is checked against)").format(ca_bundle=value))
        return value or None


class UISection(_Strict):
    theme: str = "booth-dark"
    # The interface's language: "en" or "zh-CN" (switchable from the command palette).
    language: str = "en"

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        try:
            return normalize_language(value)
        except LanguageError:
            raise ValueError(_("unknown language {value!r} (allowed: en, zh-CN)").format(value=value)) from None
    # The screen locks after this many idle minutes (0: never); signing in again unlocks it.
    idle_lock_minutes: float = Field(default=10, ge=0, le=24 * 60)
    # Seconds an exit desk that opened by itself ignores keys: about a reaction time, so a
    # held Enter or a key meant for the dashboard never pays. 0 turns the guard off; more
    # than 3 s would keep an attendant waiting at every car.
    desk_key_guard_seconds: float = Field(default=0.6, ge=0, le=3)


class SimulationSection(_Strict):
    """Only for `booth demo`. Rates and stays are in simulated time; the demo clock runs
    `speed` times faster than real time and the simulator is scaled to match."""

    speed: float = Field(default=10.0, gt=0, le=100_000)
    arrivals_per_hour: float = Field(default=30.0, ge=0, le=10_000)
    dwell_min_minutes: float = Field(default=20.0, ge=0)
    dwell_max_minutes: float = Field(default=240.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SimulationSection:
        if self.dwell_max_minutes < self.dwell_min_minutes:
            raise ValueError(_("dwell_max_minutes must not be below dwell_min_minutes"))
        return self


class OperationsSection(_Strict):
    """What attendants may do by hand, and how lanes behave at the limits."""

    manual_gate_reasons: list[str] = Field(
        default_factory=lambda: ["exit without payment", "safety", "emergency vehicle", "other"], min_length=1
    )
    # When a zone is full, plates with a member pass or on the whitelist may still enter.
    members_enter_when_full: bool = True
    # Open visits older than this are offered for closing in the occupancy repair.
    stale_visit_hours: float = Field(default=72.0, gt=0)
    # A fee lowered by more than this (or waived above it) needs a manager's name and PIN.
    override_pin_above: str = "5.00"
    # Shortest PINs accepted when a user is added (digits; at most 12). A 4-digit PIN falls
    # to its stolen hash in minutes, a 6-digit one in hours (docs/security.md).
    attendant_pin_digits: int = Field(default=4, ge=4, le=12)
    manager_pin_digits: int = Field(default=6, ge=4, le=12)

    @field_validator("manual_gate_reasons")
    @classmethod
    def _has_other(cls, value: list[str]) -> list[str]:
        if any(not reason.strip() for reason in value):
            raise ValueError(_("reasons must not be empty"))
        if len(set(value)) != len(value):
            raise ValueError(_("a reason is listed twice"))
        return value


class SiteConfig(_Strict):
    """A validated site."""

    site: SiteSection
    database: DatabaseSection = DatabaseSection()
    tariff: TariffSection = TariffSection()
    zones: list[ZoneSection] = Field(min_length=1)
    lanes: list[LaneSection] = Field(min_length=1)
    printer: PrinterSection = PrinterSection()
    camera: CameraSection = CameraSection()
    cloud: CloudSection = CloudSection()
    ui: UISection = UISection()
    simulation: SimulationSection = SimulationSection()
    operations: OperationsSection = OperationsSection()
    elevator: ElevatorSection = ElevatorSection()
    charging: ChargingSection = ChargingSection()
    backup: BackupSection = BackupSection()

    @model_validator(mode="after")
    def _consistent(self) -> SiteConfig:
        problems: list[str] = []
        zone_ids = [z.id for z in self.zones]
        for dup in sorted({z for z in zone_ids if zone_ids.count(z) > 1}):
            problems.append(f"zones: zone id {dup!r} is used twice")
        lane_ids = [lane.id for lane in self.lanes]
        for dup in sorted({i for i in lane_ids if lane_ids.count(i) > 1}):
            problems.append(f"lanes: lane id {dup!r} is used twice")
        try:
            Money.parse(self.operations.override_pin_above, self.site.currency)
        except MoneyError as exc:
            problems.append(f"operations.override_pin_above: {exc}")
        for index, lane in enumerate(self.lanes):
            if lane.zone not in zone_ids:
                problems.append(f"lanes[{index}].zone: unknown zone {lane.zone!r} (zones are: {', '.join(zone_ids)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    _tariff: Tariff | None = PrivateAttr(default=None)
    _tariff_text: str = PrivateAttr(default="")

    @property
    def engine_settings(self) -> EngineSettings:
        """How this booth connects to its database ([database], named by the booth id)."""
        return self.database.engine_settings(self.site.booth_id)

    def zone(self, zone_id: str) -> ZoneSection:
        return next(z for z in self.zones if z.id == zone_id)

    @property
    def active_tariff(self) -> Tariff:
        """The validated tariff named in [tariff] (loaded with the site file)."""
        assert self._tariff is not None, "the site file was parsed without its tariff"
        return self._tariff

    @property
    def active_tariff_text(self) -> str:
        """The source text of the tariff named in [tariff] (sent to the cloud, which
        quotes drivers with the very same text)."""
        return self._tariff_text


def simulated_devices(config: SiteConfig) -> list[str]:
    """The site-file keys whose device is a built-in simulator (a `sim://` URL)."""
    keys: list[str] = []
    for index, lane in enumerate(config.lanes):
        if lane.gate.startswith("sim:"):
            keys.append(f"lanes[{index}].gate")
        if lane.camera.startswith("sim:"):
            keys.append(f"lanes[{index}].camera")
    for key, url in (("camera.url", config.camera.url), ("elevator.url", config.elevator.url),
                     ("elevator.camera_url", config.elevator.camera_url)):
        if url.startswith("sim:"):
            keys.append(key)
    for index, pile in enumerate(config.charging.epiles):
        if pile.url.startswith("sim:"):
            keys.append(f"charging.epiles[{index}].url")
    return keys


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def find_tariff_file(name: str, base_dir: Path | None) -> Path | None:
    """Where a tariff named in the site file is: absolute, next to the site file, or shipped."""
    candidate = Path(name).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for folder in ([base_dir] if base_dir else []) + [tariffs_dir()]:
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _load_tariff(config: SiteConfig, source: str, base_dir: Path | None) -> Tariff:
    path = find_tariff_file(config.tariff.file, base_dir)
    if path is None:
        raise ConfigError(_("{source}: tariff.file: no tariff file {file!r} next to the site file or among the shipped tariffs").format(source=source, file=config.tariff.file))
    try:
        config._tariff_text = path.read_text(encoding="utf-8")
        tariff = parse_tariff(config._tariff_text, str(path))
    except TariffError as exc:
        raise ConfigError(_("{source}: tariff.file: {path} is not a valid tariff; the site was not started\n{exc}").format(source=source, path=path, exc=exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{source}: tariff.file: {path} cannot be read: {exc}").format(source=source, path=path, exc=exc)) from None
    if tariff.currency != config.site.currency:
        raise ConfigError(_("{source}: tariff.file: the tariff is in {currency}, the site in {currency2}").format(source=source, currency=tariff.currency, currency2=config.site.currency))
    return tariff


def parse_site(text: str, source: str, base_dir: Path | None = None) -> SiteConfig:
    """Validate a site document and its tariff; ConfigError lists every problem as
    `source: key: message`. Relative tariff names are looked up in `base_dir` first."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{source}: not valid TOML: {exc}").format(source=source, exc=exc)) from None
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError as exc:
        lines: list[str] = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            key = _location(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                message = "unknown key (check its spelling)"
            elif err["type"] == "missing":
                message = "required key is missing"
            if key == "(top level)":
                lines.extend(f"{source}: {part.strip()}" for part in message.split(";"))
            else:
                lines.append(f"{source}: {key}: {message}")
        raise ConfigError("\n".join(lines)) from None
    config._tariff = _load_tariff(config, source, base_dir)
    return config


def load_site(path: Path) -> SiteConfig:
    """Read and validate a site file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(_("{path}: no such file (write a sample with `booth init`)").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{path}: cannot be read: {exc}").format(path=path, exc=exc)) from None
    return parse_site(text, str(path), path.parent)


def default_site_text() -> str:
    """The commented sample site embedded in the package."""
    return resources.files("console.site").joinpath("default_site.toml").read_text(encoding="utf-8")


def default_site() -> SiteConfig:
    """The embedded simulated site (2 entry lanes, 2 exit lanes, one zone of 200)."""
    return parse_site(default_site_text(), "<embedded default site>")


# Sample sites shipped for a language other than English (console/site/sample_sites/).
SAMPLE_SITES: dict[str, str] = {"zh_CN": "sample_sites/zh_CN.toml"}


def sample_site_text(locale: str) -> str:
    """The commented sample site for `locale` ("zh-CN": a Chinese garage); English is the
    default sample. Raises ConfigError for a locale with no sample."""
    try:
        code = normalize_language(locale)
    except LanguageError:
        raise ConfigError(_("--locale: unknown locale {locale!r} (allowed: en, zh-CN)").format(locale=locale)) from None
    name = SAMPLE_SITES.get(code)
    if name is None:
        return default_site_text()
    return resources.files("console.site").joinpath(name).read_text(encoding="utf-8")


def sample_site(locale: str) -> SiteConfig:
    """The simulated sample site of `locale`: for "zh-CN" a Guangzhou garage in CNY with
    mainland plates, the Chinese interface and Chinese receipts."""
    return parse_site(sample_site_text(locale), f"<embedded {normalize_language(locale)} sample site>")
