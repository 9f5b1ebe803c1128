"""Writing files whole or not at all."""

from __future__ import annotations

import _thread
import contextlib
import os
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from pathlib import Path


def _path(path: str | Path) -> Path:
    from pathlib import Path  # here, not at the top: the terminal plan writes no file

    return Path(path)


def sidecar(path: str | Path, kind: str = "findings") -> Path:
    """A file written beside a CSV schedule: its findings (``plan.csv`` ->
    ``plan.findings.csv``) or its supply per fill (``kind="supply"``: ``plan.supply.csv``)."""
    target = _path(path)
    return target.with_name(f"{target.stem}.{kind}.csv")


def check_writable(
    path: str | Path, force: bool, field: str, inputs: tuple[str | Path, ...] = ()
) -> Path:
    """Refuse an existing file unless ``force``; refuse a missing or read-only folder. Refuse,
    with ``force`` too, what is not a regular file to replace: a folder, a symbolic link
    (dangling or not), a pipe or a device, and the command's own ``inputs``."""
    import stat

    target = _path(path)
    if str(path).endswith(("/", os.sep)) or os.path.basename(str(path)) in ("", ".", ".."):
        # Path() drops the slash: nodir/ would be written as a file named nodir
        raise InputError(field, str(path), "a file name is needed, not a folder")
    if target.is_symlink():
        raise InputError(
            field, str(path), "a symbolic link; give the path of a regular file itself"
        )
    if target.is_dir():
        raise InputError(field, str(path), "a file name is needed, not a folder")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise InputError(
            field, str(path), "not a regular file (a pipe or a device): taper replaces files only"
        )
    for given in inputs:
        if target.exists() and _path(given).exists() and target.samefile(given):
            raise InputError(field, str(path), "a file other than the one the command reads")
    if target.exists() and not force:
        raise InputError(field, str(path), "the file exists; pass {force} to replace it")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(field, str(path), "the folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(field, str(path), "the folder cannot be written to")
    return target


def check_outputs(
    outputs: list[tuple[str, str]], force: bool, inputs: tuple[str | Path, ...] = ()
) -> None:
    """Check every output before anything is made: writable, none of them the command's
    ``inputs``, and no two the same file."""
    seen: dict[Path, str] = {}
    for field, path in outputs:
        target = check_writable(path, force, field, inputs)
        key = target.resolve()
        if key in seen:
            raise InputError(
                field, path, f"{{{seen[key]}}} writes the same file; give another name"
            )
        seen[key] = field


def write_all(items: list[tuple[str, str, bytes]]) -> None:
    """Write several files, all or none: each goes to a temporary file first, and only when
    every one is written are they moved into place. Where one cannot be moved into place (a
    file that may not be replaced), those moved already are put back as they were. A failure
    names the field."""
    temps: list[tuple[str, str, Path, str]] = []
    done: list[tuple[Path, str | None]] = []  # each file moved into place, and what it held
    try:
        for field, path, data in items:
            try:
                temps.append((field, path, _path(path), _write_temp(_path(path), data)))
            except OSError as exc:
                raise InputError(field, path, f"cannot write it ({exc.strerror})") from None
        for field, path, target, tmp in temps:
            held = _kept(target)
            try:
                os.replace(tmp, target)
            except OSError as exc:
                if held is not None:
                    os.unlink(held)
                raise InputError(field, path, f"cannot write it ({exc.strerror})") from None
            done.append((target, held))
    except BaseException:
        for target, held in reversed(done):
            with contextlib.suppress(OSError):
                if held is None:
                    os.unlink(target)
                else:
                    os.replace(held, target)
        done.clear()
        raise
    finally:
        for _, _, _, tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for _, held in done:
            if held is not None:
                with contextlib.suppress(OSError):
                    os.unlink(held)


def _kept(target: Path) -> str | None:
    """A second name for what ``target`` holds, beside it, to put back if a later file of the
    same command cannot be written; ``None`` where there is nothing (or no second name can
    be made: a file system without links)."""
    import secrets

    if not target.is_file():
        return None
    name = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.old")
    try:
        os.link(target, name)  # never onto a file there: an existing name fails
    except OSError:
        return None
    return name


def _write_temp(target: Path, data: bytes) -> str:
    import tempfile

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


#: reading the umask sets it for a moment; one thread at a time, so that files written
#: from several threads (taper batch) never see, or leave behind, the zero set meanwhile
_UMASK_LOCK = _thread.allocate_lock()


def _mode_for(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    with _UMASK_LOCK:
        umask = os.umask(0)
        os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    A reader sees the old file or the new one, never a part; on failure the
    temporary file is removed and the old file is left as it was.
    """
    target = _path(path)
    tmp = _write_temp(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
