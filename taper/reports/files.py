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
    """Refuse an existing file unless ``force``; refuse a missing folder."""
    target = Path(path)
    if target.is_dir():
        raise InputError(field, str(path), "a file name is needed, not a folder")
    if target.exists() and not force:
        raise InputError(field, str(path), "the file exists; pass --force to replace it")
    if not target.parent.exists():
        raise InputError(field, str(path), "the folder does not exist")
    return target


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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; give it the mode a plain write would have
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
