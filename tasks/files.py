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


def write_folder_atomic(path: Path, files: dict[str, bytes]) -> None:
    """Write a set of files that only make sense together (Sage's import files and their
    manifest): into a hidden temp folder beside ``path``, each fsynced, then the folder renamed
    to ``path`` and its parent fsynced. A reader sees the whole set or no set; a crash leaves
    only the hidden folder, which the writer removes when it next opens."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.mkdir(mode=0o755)
    try:
        for name, data in files.items():
            write_atomic(tmp / name, data, durable=True)
        os.rename(tmp, path)
    except BaseException:
        for child in tmp.glob("*") if tmp.exists() else ():
            child.unlink(missing_ok=True)
        if tmp.exists():
            tmp.rmdir()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
