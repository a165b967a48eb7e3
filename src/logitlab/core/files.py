"""Files written atomically (model files, checkpoints)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

#: a temporary file of an interrupted save older than this (seconds) is removed
STALE_SECONDS = 600


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True                       # exists (another user's), or cannot tell
    return True


def _stale(entry: os.DirEntry, match, now: float) -> bool:
    """A temporary file of a save that died: older than :data:`STALE_SECONDS`,
    or written on this host by a process that no longer exists."""
    try:
        age = now - entry.stat().st_mtime
    except OSError:
        return False
    if age > STALE_SECONDS:
        return True
    host, pid = match.group("host"), match.group("pid")
    return (os.name == "posix" and pid is not None and host == _host_tag()
            and int(pid) != os.getpid() and not _pid_alive(int(pid)))


def remove_stale_temporaries(path) -> list[str]:
    """Remove the temporary files that interrupted saves (e.g. a SIGKILL) left
    next to ``path`` (``.NAME.HOST-PID.XXXXXXXX.tmp``, and ``.NAME.XXXXXXXX.tmp``
    of older versions) when :func:`_stale`; a live concurrent save's file is
    kept. Returns the names removed."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.(?:(?P<host>[0-9a-f]{8})-"
                         r"(?P<pid>[0-9]+)\.)?[a-z0-9_]{8}\.tmp")
    removed, now = [], time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False) and _stale(entry, match, now):
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:                # removed by a concurrent save, or not ours
                pass
    return removed


def write_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file
    ``.NAME.HOST-PID.XXXXXXXX.tmp`` in the same directory, flushed and fsynced,
    then ``os.replace``d over ``path``. Temporary files of earlier saves of the
    same ``path`` that were killed are removed first
    (:func:`remove_stale_temporaries`)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {str(path)!r}: the directory "
                                f"{str(directory)!r} does not exist.")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp",
                               prefix=f".{path.name}.{_host_tag()}-{os.getpid()}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (POSIX); not possible everywhere
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path
