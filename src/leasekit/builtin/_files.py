"""Files that several processes may write at once, each seen whole or not at all.

A file is written under a temporary name in its own folder (so on the same filesystem) and
then renamed into place, which replaces it whole, or *linked* into place, which fails if the
name exists, so that of two processes creating the same file the first one's is kept.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["publish_once", "replace_file"]

_TEMP_PREFIX: Final = ".new-"


def publish_once(path: Path, content: bytes) -> bool:
    """*content* as *path*, readable by its owner only, unless *path* exists already;
    whether this call created it."""
    temp = _written_aside(path.parent, content)
    try:
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
            return True
        return False
    finally:
        temp.unlink()


def replace_file(path: Path, content: bytes, *, mode: int = 0o600) -> None:
    """*content* as *path*, replacing whatever was there in one step."""
    temp = _written_aside(path.parent, content)
    try:
        temp.chmod(mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _written_aside(folder: Path, content: bytes) -> Path:
    """*content* in a new temporary file of mode ``0o600`` in *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=folder, prefix=_TEMP_PREFIX)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
