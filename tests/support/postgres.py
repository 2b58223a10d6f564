"""A real PostgreSQL server for the tests: started once per test session on loopback.

`start_postgres()` runs `initdb` into a temporary folder and `pg_ctl start` on 127.0.0.1 and
a free port, with fsync on (the tests check durability), TLS on with a throwaway CA, and the
server's own time zone set away from UTC so that no test passes by the accident of a UTC
server. As root it runs the server as the `postgres` user (initdb refuses root). Each test
gets a database of its own from `PostgresServer.create_database()`; `stop()` ends it all.

Binaries: $BOOTH_PG_BIN (only that folder), else the newest /usr/lib/postgresql/N/bin
(Debian), else `pg_ctl` on PATH.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_TIMEZONE = "Asia/Shanghai"
# A role that may log in only over TLS with a client certificate (tests of [database] TLS).
CERT_ROLE = "booth_cert"
HEAD_TEMPLATE = "booth_head"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


@dataclass(frozen=True)
class TlsFiles:
    """The throwaway CA, and a client certificate for CERT_ROLE signed by it."""

    ca_cert: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing the server has


@dataclass
class PostgresServer:
    """A running test server. URLs name `postgres` (a superuser, trusted on loopback)."""

    bindir: Path
    base: Path
    port: int
    run_as: str | None
    tls: TlsFiles | None
    version: str
    started_in_s: float
    host: str = "127.0.0.1"
    databases_created: int = 0
    databases_reused: int = 0
    create_seconds: float = 0.0
    recycle_seconds: float = 0.0
    _head_ready: bool = field(default=False, repr=False)
    _head_shape: str = field(default="", repr=False)
    # Migrated databases a test has finished with, emptied and renamed, for the next test.
    _spare: list[str] = field(default_factory=list, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        """A psycopg connection in autocommit mode (for CREATE/DROP DATABASE and checks)."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user="postgres", dbname=database, autocommit=True)

    def create_database(self, *, migrated: bool = False, owner: str = "postgres") -> str:
        """A new empty database (or one already at the newest schema); returns its name."""
        if migrated:
            self._ensure_head_template()
            if self._spare:
                self.databases_reused += 1
                return self._spare.pop()
        self.databases_created += 1
        name = f"test_{os.getpid()}_{self.databases_created}"
        template = HEAD_TEMPLATE if migrated else "template1"
        started = time.perf_counter()
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER "{owner}"')
        self.create_seconds += time.perf_counter() - started
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test database, ending any connection a test left open."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def recycle_database(self, name: str) -> None:
        """Done with a migrated database: empty it and keep it, under a name never used
        before (a booth keys its audit key and anchors by the database's name), for the
        next test that wants one; drop it instead when the test changed more than rows
        (its schema, privileges or settings). Copying the template and dropping a
        database cost a second each on a busy machine; emptying one costs a tenth."""
        started = time.perf_counter()
        try:
            if self._empty(name):
                fresh = f"test_{os.getpid()}_{self.databases_created}_r{self.databases_reused + len(self._spare) + 1}"
                with self.connect() as conn:
                    _end_connections(conn, name)
                    conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{fresh}"')
                self._spare.append(fresh)
                return
        except Exception:
            pass
        finally:
            self.recycle_seconds += time.perf_counter() - started
        self.drop_database(name)

    def _empty(self, name: str) -> bool:
        """Remove every row of a test database if it still has the template's shape."""
        with self.connect() as admin:
            _end_connections(admin, name)
        with self.connect(name) as conn:
            conn.execute("SET lock_timeout = '2s'")
            if _shape(conn) != self._head_shape:
                return False
            tables = [row[0] for row in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
            sequences = [row[0] for row in conn.execute("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")]
            # DELETE, not TRUNCATE: a test's few rows go in a tenth of the time TRUNCATE
            # takes to make new files for 29 tables. Foreign keys are not checked meanwhile
            # (every row goes), as a superuser may ask.
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    conn.execute(f"DELETE FROM {table}")
                for sequence in sequences:
                    conn.execute(f"ALTER SEQUENCE {sequence} RESTART")
        return True

    def _ensure_head_template(self) -> None:
        if self._head_ready:
            return
        from console.store.engine import make_engine
        from console.store.migrate import upgrade

        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{HEAD_TEMPLATE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{HEAD_TEMPLATE}"')
        engine = make_engine(self.url(HEAD_TEMPLATE))
        try:
            upgrade(engine)
        finally:
            engine.dispose()  # a template must have no connections when it is copied
        with self.connect(HEAD_TEMPLATE) as conn:
            self._head_shape = _shape(conn)
        self._head_ready = True

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (for failure messages)."""
        return _tail(self.base / "server.log", lines)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            _run_as(self.run_as, [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], timeout=60)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _end_connections(admin: Any, name: str) -> None:
    """End every session on database `name` (a test may leave a pool open) and wait."""
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    deadline = time.monotonic() + 5
    while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"sessions on {name} do not end")
        time.sleep(0.01)


# What a test might change besides rows; a database is reused only if all of it is as the
# template's: the schema's revision, tables, columns, indexes, sequences, privileges,
# settings and other schemas.
_SHAPE = """
SELECT concat_ws('|',
  (SELECT string_agg(version_num, ',') FROM alembic_version),
  (SELECT string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(column_default, ''),
                     ',' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public'),
  (SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'),
  (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || coalesce(c.relacl::text, ''), ',' ORDER BY c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'),
  (SELECT string_agg(nspname || ':' || coalesce(nspacl::text, ''), ',' ORDER BY nspname) FROM pg_namespace),
  (SELECT count(*)::text FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())),
  (SELECT coalesce(datacl::text, '') || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()),
  (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'))
"""


def _shape(conn: Any) -> str:
    return str(conn.execute(_SHAPE).fetchone()[0])


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl, or None."""
    given = os.environ.get("BOOTH_PG_BIN")
    if given:  # the one the user named, or none
        folder = Path(given)
        return folder if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file() else None
    candidates: list[Path] = []

    def major(path: str) -> int:
        version = Path(path).parent.name
        return int(version) if version.isdigit() else 0

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def start_postgres() -> PostgresServer:
    """Start a throwaway server; PostgresUnavailable says why it cannot be done here."""
    started = time.perf_counter()
    try:
        import psycopg  # noqa: F401  (the tests talk to the server through it)
    except ImportError as exc:
        raise PostgresUnavailable(f"psycopg is not installed (pip install 'booth[postgres]'): {exc}") from None
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("no PostgreSQL binaries (initdb, pg_ctl): install Debian's postgresql package or set BOOTH_PG_BIN")
    run_as = _server_user()
    base = _server_folder(run_as)
    try:
        _initdb(bindir, base, run_as)
        tls = _make_tls(base, run_as)
        _write_hba(base, tls is not None)
        port = _start(bindir, base, run_as, tls is not None)
        server = PostgresServer(bindir=bindir, base=base, port=port, run_as=run_as, tls=tls, version="", started_in_s=0.0)
        with server.connect() as conn:
            server.version = str(conn.execute("SHOW server_version").fetchone()[0])
            if tls is not None:
                conn.execute(f'CREATE ROLE "{CERT_ROLE}" LOGIN')
    except BaseException:
        _run_as(run_as, [str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "-w", "stop"], timeout=30, check=False)
        shutil.rmtree(base, ignore_errors=True)
        raise
    server.started_in_s = time.perf_counter() - started
    return server


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root, and there is no `postgres` user to run the server as") from None
    return "postgres"


def _traversable_by_others(folder: Path) -> bool:
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [folder, *folder.parents])


def _server_folder(run_as: str | None) -> Path:
    """A fresh folder for the server, whose parents the server's user can pass through."""
    for parent in dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp")]):
        if run_as is None or _traversable_by_others(parent):
            base = Path(tempfile.mkdtemp(prefix="booth-pg-", dir=parent))
            if run_as is not None:
                shutil.chown(base, user=run_as, group=run_as)
            return base
    raise PostgresUnavailable(f"no temporary folder whose parents the {run_as} user can read (set TMPDIR)")


def _run_as(user: str | None, argv: list[str], *, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv] if shutil.which("runuser") else ["su", user, "-c", shlex.join(argv)]
    result = subprocess.run(argv, check=False, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if check and result.returncode != 0:
        raise PostgresUnavailable(f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout[-2000:]}")
    return result


def _initdb(bindir: Path, base: Path, run_as: str | None) -> None:
    # C collation: text sorts by code point, as SQLite's default does. --no-sync only skips
    # initdb's final flush of the empty cluster; the running server keeps fsync on.
    _run_as(run_as, [str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--locale=C", "--no-sync"], timeout=120)


def _openssl(args: list[str], cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


def _make_tls(base: Path, run_as: str | None) -> TlsFiles | None:
    """A CA, the server's certificate for 127.0.0.1, and a client certificate for CERT_ROLE."""
    if shutil.which("openssl") is None:
        return None
    tls = base / "tls"
    tls.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        _openssl(["req", "-x509", "-new", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                  "-subj", f"/CN=booth test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], tls)
    for name, subject, extension in (("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                                     ("client", CERT_ROLE, "extendedKeyUsage=clientAuth")):
        (tls / f"{name}.ext").write_text(extension + "\n")
        _openssl(["req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={subject}"], tls)
        _openssl(["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                  "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext"], tls)
    for path in tls.iterdir():
        path.chmod(0o600 if path.suffix == ".key" else 0o644)
    if run_as is not None:
        # The server reads its key as its own user; the client files stay the test user's.
        for name in ("server.key", "server.crt", "ca.crt"):
            shutil.chown(tls / name, user=run_as, group=run_as)
        tls.chmod(0o755)
    return TlsFiles(ca_cert=tls / "ca.crt", client_cert=tls / "client.crt", client_key=tls / "client.key",
                    other_ca_cert=tls / "other-ca.crt")


def _write_hba(base: Path, tls: bool) -> None:
    lines = ["local all all trust"]
    if tls:
        lines += [f"hostssl all {CERT_ROLE} 127.0.0.1/32 cert", f"host all {CERT_ROLE} 127.0.0.1/32 reject"]
    lines += ["host all all 127.0.0.1/32 trust"]
    (base / "data" / "pg_hba.conf").write_text("\n".join(lines) + "\n")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(bindir: Path, base: Path, run_as: str | None, tls: bool) -> int:
    """Start the server on a free loopback port (another program may take the port between
    the probe and the start: then try another)."""
    settings = {
        "listen_addresses": "127.0.0.1",
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "max_connections": "200",
        "timezone": SERVER_TIMEZONE,
    }
    if tls:
        settings |= {"ssl": "on", "ssl_cert_file": str(base / "tls" / "server.crt"),
                     "ssl_key_file": str(base / "tls" / "server.key"), "ssl_ca_file": str(base / "tls" / "ca.crt")}
    last = ""
    for _attempt in range(5):
        port = _free_port()
        options = " ".join([f"-p {port}", f"-k {shlex.quote(str(base))}",
                            *(f"-c {key}={shlex.quote(value)}" for key, value in settings.items())])
        result = _run_as(run_as, [str(bindir / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "server.log"),
                                  "-w", "-t", "60", "-o", options, "start"], timeout=90, check=False)
        if result.returncode == 0:
            return port
        last = result.stdout + _tail(base / "server.log", 20)
        if "could not bind" not in last and "already in use" not in last:
            break
    raise PostgresUnavailable(f"pg_ctl start failed:\n{last[-2000:]}")


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def running_in_ci() -> bool:
    """Whether this is a CI run, where a missing PostgreSQL fails the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
