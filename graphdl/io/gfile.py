"""``tf.gfile`` / ``tf.io.gfile``: TF1's file API over the local filesystem.

Both spellings are provided: TF1's ``Exists``, ``MakeDirs``, ``ListDirectory``, ``GFile``...
and ``tf.io.gfile``'s ``exists``, ``makedirs``, ``listdir``... Failures raise TF1's error
classes (``errors.NotFoundError`` for a missing file, ``AlreadyExistsError``...), which
also subclass the matching Python exceptions.
"""

from __future__ import annotations

import glob as _glob
import os
import shutil
from collections import namedtuple

from graphdl import errors

__all__ = [
    "Copy", "DeleteRecursively", "Exists", "FastGFile", "GFile", "Glob", "IsDirectory", "ListDirectory", "MakeDirs",
    "MkDir", "Open", "Remove", "Rename", "Stat", "Walk",
    "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir", "remove", "rename", "rmtree", "stat", "walk",
]

FileStatistics = namedtuple("FileStatistics", ["length", "mtime_nsec", "is_directory"])


def _path(name) -> str:
    return os.fsdecode(os.fspath(name))


def _raise(e: OSError, what: str, path: str):
    """Re-raise an OSError as TF1's error class for it."""
    text = f"{what}: {path}; {e.strerror or e}"
    if isinstance(e, FileNotFoundError):
        raise errors.NotFoundError(None, None, text) from None
    if isinstance(e, FileExistsError):
        raise errors.AlreadyExistsError(None, None, text) from None
    if isinstance(e, PermissionError):
        raise errors.PermissionDeniedError(None, None, text) from None
    if isinstance(e, (IsADirectoryError, NotADirectoryError)):
        raise errors.FailedPreconditionError(None, None, text) from None
    raise errors.UnknownError(None, None, text) from None


def exists(path) -> bool:
    """True when ``path`` (a file or directory) exists."""
    return os.path.exists(_path(path))


def isdir(path) -> bool:
    """True when ``path`` is a directory."""
    return os.path.isdir(_path(path))


def listdir(path) -> list[str]:
    """The names of the entries of directory ``path`` (not full paths); NotFoundError when it does not exist."""
    path = _path(path)
    if not os.path.isdir(path):
        raise errors.NotFoundError(None, None, f"Could not find directory {path}")
    return os.listdir(path)


def glob(pattern) -> list[str]:
    """The paths matching ``pattern`` (or each pattern of a list), sorted."""
    patterns = [pattern] if isinstance(pattern, (str, bytes, os.PathLike)) else list(pattern)
    found = set()
    for p in patterns:
        found.update(_glob.glob(_path(p)))
    return sorted(found)


def makedirs(path):
    """Create directory ``path`` and any missing parents; an existing directory is fine."""
    path = _path(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        _raise(e, "MakeDirs", path)


def mkdir(path):
    """Create directory ``path`` (its parent must exist); AlreadyExistsError when it exists."""
    path = _path(path)
    try:
        os.mkdir(path)
    except OSError as e:
        _raise(e, "MkDir", path)


def remove(path):
    """Delete the file ``path``; NotFoundError when it does not exist."""
    path = _path(path)
    try:
        os.remove(path)
    except OSError as e:
        _raise(e, "Remove", path)


def rmtree(path):
    """Delete directory ``path`` and everything under it; NotFoundError when it does not exist."""
    path = _path(path)
    if not os.path.exists(path):
        raise errors.NotFoundError(None, None, f"DeleteRecursively: {path}; No such file or directory")
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except OSError as e:
        _raise(e, "DeleteRecursively", path)


def rename(src, dst, overwrite=False):
    """Rename ``src`` to ``dst``; AlreadyExistsError when ``dst`` exists and not ``overwrite``."""
    src, dst = _path(src), _path(dst)
    if not overwrite and os.path.exists(dst):
        raise errors.AlreadyExistsError(None, None, f"Rename: file already exists: {dst}")
    try:
        os.replace(src, dst)
    except OSError as e:
        _raise(e, "Rename", src)


def copy(src, dst, overwrite=False):
    """Copy file ``src`` to ``dst``; AlreadyExistsError when ``dst`` exists and not ``overwrite``."""
    src, dst = _path(src), _path(dst)
    if not overwrite and os.path.exists(dst):
        raise errors.AlreadyExistsError(None, None, f"Copy: file already exists: {dst}")
    try:
        shutil.copyfile(src, dst)
    except OSError as e:
        _raise(e, "Copy", src)


def stat(path) -> FileStatistics:
    """``FileStatistics(length, mtime_nsec, is_directory)`` of ``path``; NotFoundError when missing."""
    path = _path(path)
    try:
        info = os.stat(path)
    except OSError as e:
        _raise(e, "Stat", path)
    return FileStatistics(info.st_size, info.st_mtime_ns, os.path.isdir(path))


def walk(top, topdown=True, onerror=None):
    """Yield ``(dirname, subdirectory names, file names)`` for each directory under ``top``, as ``os.walk``."""
    yield from os.walk(_path(top), topdown=topdown, onerror=onerror)


class GFile:
    """A file object with TF1's ``GFile`` API: ``read``, ``readline``, ``readlines``, ``write``, iteration, ``with``.

    Text modes read ``str``, binary modes ("rb", "wb"...) ``bytes``; ``write`` accepts
    both in any mode. The file opens when first used, as TF1's does: a missing file
    raises NotFoundError at the first read.
    """

    def __init__(self, name, mode="r"):
        self._name = _path(name)
        mode = mode.replace("t", "")
        if mode.replace("b", "").replace("+", "") not in ("r", "w", "a"):
            raise errors.InvalidArgumentError(None, None, f"GFile: mode must be r, w or a (with b or +), got {mode!r}")
        self._binary = "b" in mode
        self._mode = mode if self._binary else mode + "b"
        self._file = None
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mode(self) -> str:
        return self._mode if self._binary else self._mode.replace("b", "")

    def _handle(self):
        if self._closed:
            raise ValueError(f"I/O operation on closed GFile {self._name}")
        if self._file is None:
            try:
                self._file = open(self._name, self._mode)  # noqa: SIM115 - closed by close()
            except OSError as e:
                _raise(e, "GFile", self._name)
        return self._file

    def _out(self, data: bytes):
        return data if self._binary else data.decode("utf-8")

    def read(self, n=-1):
        """Up to ``n`` bytes/characters (all that is left when ``n`` < 0)."""
        return self._out(self._handle().read(-1 if n is None else n))

    def readline(self):
        """The next line, with its newline ('' or b'' at the end of the file)."""
        return self._out(self._handle().readline())

    def readlines(self):
        """All remaining lines."""
        return [self._out(line) for line in self._handle().readlines()]

    def write(self, file_content):
        """Append ``file_content`` (str or bytes) to the file."""
        data = file_content.encode("utf-8") if isinstance(file_content, str) else bytes(file_content)
        self._handle().write(data)

    def seek(self, offset=None, whence=0, position=None):
        """Move to ``offset`` (or ``position``, its old name) relative to ``whence``."""
        self._handle().seek(position if offset is None else offset, whence)

    def tell(self) -> int:
        return self._handle().tell()

    def size(self) -> int:
        """The file's size in bytes."""
        self.flush()
        return os.path.getsize(self._name)

    def flush(self):
        if self._file is not None:
            self._file.flush()

    def close(self):
        """Flush and close the file (a file opened for writing but never written is not created)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._closed = True

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# TF1's names for the same functions.
Open = FastGFile = GFile
Exists = exists
IsDirectory = isdir
ListDirectory = listdir
Glob = glob
MakeDirs = makedirs
MkDir = mkdir
Remove = remove
DeleteRecursively = rmtree
Rename = rename
Copy = copy
Stat = stat


def Walk(top, in_order=True):
    """TF1's ``Walk``: ``(dirname, subdirectories, files)`` per directory, parents first when ``in_order``."""
    yield from os.walk(_path(top), topdown=in_order)
