"""Writing a file so that a reader sees either no file or the whole of it — the one way cwsage
writes files that another process may read (spilled chunks, outbox XML)."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``path`` through a hidden temp file in the same folder, renamed over it. With
    ``durable`` the data and the rename are fsynced first, so they survive a power cut (what a
    Sage-side importer will read); without, a crash may lose the file but never half-write it."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
