"""Writing files whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import InputError


def sidecar(path: str | Path) -> Path:
    """The findings file written beside a CSV schedule: ``plan.csv`` -> ``plan.findings.csv``."""
    target = Path(path)
    return target.with_name(f"{target.stem}.findings.csv")


def check_writable(path: str | Path, force: bool, field: str) -> Path:
    """Refuse an existing file unless ``force``; refuse a missing or read-only folder."""
    target = Path(path)
    if target.is_dir():
        raise InputError(field, str(path), "a file name is needed, not a folder")
    if target.exists() and not force:
        raise InputError(field, str(path), "the file exists; pass --force to replace it")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(field, str(path), "the folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(field, str(path), "the folder cannot be written to")
    return target


def check_outputs(outputs: list[tuple[str, str]], force: bool) -> None:
    """Check every output before anything is made: writable, and no two the same file."""
    seen: dict[Path, str] = {}
    for field, path in outputs:
        target = check_writable(path, force, field)
        key = target.resolve()
        if key in seen:
            raise InputError(field, path, f"{seen[key]} writes the same file; give another name")
        seen[key] = field


def write_all(items: list[tuple[str, str, bytes]]) -> None:
    """Write several files, all or none: each goes to a temporary file first, and only when
    every one is written are they moved into place. A failure names the field."""
    temps: list[tuple[str, Path]] = []
    try:
        for field, path, data in items:
            try:
                temps.append((_write_temp(Path(path), data), Path(path)))
            except OSError as exc:
                raise InputError(field, path, f"cannot write it ({exc.strerror})") from None
        while temps:
            tmp, target = temps[0]
            os.replace(tmp, target)
            temps.pop(0)
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_temp(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; give it the mode a plain write would have
        os.chmod(tmp, _mode_for(target))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _mode_for(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    A reader sees the old file or the new one, never a part; on failure the
    temporary file is removed and the old file is left as it was.
    """
    target = Path(path)
    tmp = _write_temp(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
