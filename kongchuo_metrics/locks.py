"""One inter-process lock for every file the app rewrites (the users file, the versioned store): an exclusive
flock on a lock file beside what it guards, held for a `with` block, so two servers or a server and the CLI
never interleave their writes."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold the exclusive lock of `lock_file` (created with its folder when missing) until the block ends."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
