"""Real file-system faults for the fault tests and figures: a database file made
read-only, moved or removed while the console has it open, and a full disk.

The tests run as root in CI, where `chmod` stops nobody. What stops root:
- `chattr +i` (the immutable flag): even an already open descriptor can no longer write;
- a file system mounted by the test itself (a small tmpfs), which can be filled up.
Each helper raises `FaultUnavailable` when the machine does not allow it (not root, no
CAP_SYS_ADMIN, a file system without the flag), so a test can say why it was skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import func, select

from console.store.audit import verify_chain
from console.store.database import Store
from console.store.tables import AuditRow, OutboxRow, PaymentRow, ReceiptRow, VisitRow


class FaultUnavailable(RuntimeError):
    """This machine cannot produce the fault (the reason is the message)."""


def database_files(database: Path) -> list[Path]:
    """The database and its write-ahead log (where SQLite writes a commit first)."""
    return [p for p in (database, Path(f"{database}-wal")) if p.exists()]


def _chattr(flag: str, files: list[Path]) -> None:
    if shutil.which("chattr") is None:
        raise FaultUnavailable("chattr is not installed")
    done = subprocess.run(["chattr", flag, *map(str, files)], capture_output=True, text=True)
    if done.returncode != 0:
        raise FaultUnavailable(f"chattr {flag}: {done.stderr.strip()}")


@contextmanager
def immutable(database: Path) -> Iterator[None]:
    """The database file and its log made unwritable for everybody, root included, while
    the block runs (`chattr +i`); writable again after it."""
    files = database_files(database)
    _chattr("+i", files)
    try:
        yield
    finally:
        _chattr("-i", files)


def try_immutable(folder: Path) -> None:
    """Raise FaultUnavailable unless `chattr +i` works in `folder` and stops a write through
    a descriptor opened before (the console's connections are open when the flag is set;
    some file systems, tmpfs among them, check the flag only when a file is opened)."""
    probe = folder / ".immutable-probe"
    probe.write_bytes(b"x")
    try:
        with open(probe, "ab", buffering=0) as handle:
            _chattr("+i", [probe])
            try:
                handle.write(b"y")
                raise FaultUnavailable("the immutable flag does not stop an already open file here")
            except PermissionError:
                pass
            finally:
                _chattr("-i", [probe])
    finally:
        probe.unlink(missing_ok=True)


@contextmanager
def small_disk(folder: Path, size: str = "32m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (created) for the block; unmounted after."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        raise FaultUnavailable("mounting a small disk needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise FaultUnavailable(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        # Lazy: a console thread may still hold a descriptor for a moment.
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextmanager
def ext4_disk(folder: Path, size_mb: int = 32) -> Iterator[Path]:
    """A small ext4 file system (an image file on a loop device) mounted on `folder` for
    the block: where the test's own folder is a file system on which `chattr +i` does
    not stop an open file."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        raise FaultUnavailable("an ext4 loop disk needs root and mkfs.ext4")
    folder.mkdir(parents=True, exist_ok=True)
    image = folder.with_name(folder.name + ".img")
    with open(image, "wb") as handle:
        handle.truncate(size_mb << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    if made.returncode != 0:
        raise FaultUnavailable(f"mkfs.ext4: {made.stderr.strip()}")
    done = subprocess.run(["mount", "-o", "loop", str(image), str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        image.unlink(missing_ok=True)
        raise FaultUnavailable(f"cannot mount a loop disk: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        image.unlink(missing_ok=True)


@contextmanager
def read_only_view(source: Path, folder: Path) -> Iterator[Path]:
    """`source` seen through a read-only bind mount on `folder` (created) for the block,
    as a disk remounted read-only after errors looks to the console at its start."""
    if os.geteuid() != 0:
        raise FaultUnavailable("a read-only bind mount needs root")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "--bind", str(source), str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        raise FaultUnavailable(f"cannot bind-mount: {done.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True, text=True)
        if ro.returncode != 0:
            raise FaultUnavailable(f"cannot make the bind mount read-only: {ro.stderr.strip()}")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextmanager
def disk_full(folder: Path) -> Iterator[Path]:
    """Fill the file system of `folder` to its last byte for the block; the filler file is
    removed after it (the disk has room again)."""
    filler = folder / ".filler"
    chunk = b"\0" * (1 << 16)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for piece in (chunk, b"\0"):  # then whatever bytes are left, one by one
            try:
                while os.write(fd, piece):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    try:
        yield filler
    finally:
        filler.unlink(missing_ok=True)


@dataclass(frozen=True)
class Books:
    """What the books hold: counts of every kind of record, and the audit chain."""

    visits: int
    payments: int
    paid_minor: int
    receipts: int
    audit: int
    outbox: int
    chain_ok: bool

    @classmethod
    def of(cls, store: Store) -> "Books":
        with store.read() as tx:
            def count(table: type) -> int:
                return int(tx.exec(select(func.count()).select_from(table)).one())

            paid = tx.exec(select(func.coalesce(func.sum(PaymentRow.amount_minor), 0))).one()
            return cls(count(VisitRow), count(PaymentRow), int(paid), count(ReceiptRow), count(AuditRow),
                       count(OutboxRow), verify_chain(tx).ok)
