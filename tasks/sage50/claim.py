"""One writer per target: locks and claims that live with the target, not with a cwsage home.

* ``exclusive(folder)``: a process-wide lock (``flock`` on ``.cwsage-write.lock`` in the
  target's folder) held while one load writes, so two processes never decide from the same
  manifest that the same documents are new.
* ``claim(target, home, marker)``: a claim file beside the target naming the cwsage home that
  writes to it. A second home against the same target is refused with the way out — two homes
  would load the same ConnectWise documents into one target twice, or into two targets.

Lock and claim files are opened without following symlinks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from tasks.errors import ConfigError

LOCK_NAME = ".cwsage-write.lock"
FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def claim_path(target: Path) -> Path:
    return target / ".cwsage-claim" if target.is_dir() else \
        target.with_name(target.name + ".cwsage-claim")


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold the target's write lock (blocking: another writer's load finishes first)."""
    fd = _open(folder / LOCK_NAME)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                 # closing releases the lock


def claim(target: Path, home: Path, marker: str) -> None:
    """Claim ``target`` for the home ``marker`` (at ``home``); refuse one claimed by another."""
    path = claim_path(target)
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.read(fd, 65536).decode("utf-8", "replace")
        held = _parse(text)
        if held and held.get("marker") != marker:
            raise _refusal(target, held, home, marker)
        if not held:
            body = json.dumps({"marker": marker, "home": str(home),
                               "since": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            os.ftruncate(fd, 0)
            os.pwrite(fd, body.encode(), 0)
            os.fsync(fd)
    finally:
        os.close(fd)


def check_claim(target: Path, home: Path, marker: str | None) -> None:
    """Before a run starts: refuse a target another home has claimed (read only; ``marker``
    None: this home has not written anything yet)."""
    path = claim_path(target)
    if path.is_symlink() or not path.is_file():
        return
    held = _parse(path.read_text(encoding="utf-8", errors="replace"))
    if held and held.get("marker") != marker:
        raise _refusal(target, held, home, marker or "(new)")


def _refusal(target: Path, held: dict, home: Path, marker: str) -> ConfigError:
    return ConfigError(
        f"{target} is written by another cwsage home (h{held.get('marker')} at "
        f"{held.get('home')}, since {held.get('since')}); this home is h{marker} at {home}. "
        f"One target takes one writer: run the pipelines from that home, or — once that home "
        f"has stopped for good — delete {claim_path(target)} and run again")


def _open(path: Path) -> int:
    try:
        return os.open(path, FLAGS, 0o600)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be opened as a lock or claim file ({exc.strerror}) — "
                          f"it must be a regular file, not a link; remove it and run again"
                          ) from exc


def _parse(text: str) -> dict | None:
    try:
        found = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
