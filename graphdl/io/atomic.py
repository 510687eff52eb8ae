"""Writing files so that nothing a user saved is ever half-written: temp file beside it, fsync, rename."""

from __future__ import annotations

import os
import tempfile


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically_with(path, write_fn):
    """Write ``path`` atomically: ``write_fn(binary file)`` fills a temp file in the same folder (created if
    missing), which is fsynced and renamed over ``path``; on any error ``path`` is left as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def write_atomically(path, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see ``write_atomically_with``)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    write_atomically_with(path, lambda f: f.write(payload))
