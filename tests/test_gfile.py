"""tf.gfile / tf.io.gfile over the local filesystem, with TF1's error classes."""

import os

import pytest

import graphdl.compat.v1 as tf


def test_both_spellings_are_one_module():
    assert tf.gfile is tf.io.gfile
    assert tf.gfile.Exists is tf.io.gfile.exists and tf.gfile.Open is tf.gfile.GFile is tf.gfile.FastGFile
    from graphdl.compat.v1.io import gfile

    assert gfile is tf.gfile


def test_directories(tmp_path):
    root = tmp_path / "a"
    nested = root / "b" / "c"
    assert not tf.gfile.Exists(str(root))
    tf.gfile.MakeDirs(str(nested))
    tf.gfile.MakeDirs(str(nested))  # already there: fine
    assert tf.gfile.Exists(str(nested)) and tf.gfile.IsDirectory(str(nested))
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.MkDir(str(nested))
    tf.gfile.MkDir(str(root / "d"))
    assert sorted(tf.gfile.ListDirectory(str(root))) == ["b", "d"]
    with pytest.raises(tf.errors.NotFoundError, match="Could not find directory"):
        tf.gfile.ListDirectory(str(tmp_path / "missing"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.MkDir(str(tmp_path / "missing" / "x"))
    walked = [(os.path.relpath(d, root), sorted(subdirs), files) for d, subdirs, files in tf.gfile.Walk(str(root))]
    assert walked[0] == (".", ["b", "d"], [])
    tf.gfile.DeleteRecursively(str(root))
    assert not tf.gfile.Exists(str(root))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.DeleteRecursively(str(root))


def test_files_glob_copy_rename_remove_stat(tmp_path):
    for name in ("x1.txt", "x2.txt", "y.csv"):
        (tmp_path / name).write_text(name)
    assert tf.gfile.Glob(str(tmp_path / "x*.txt")) == [str(tmp_path / "x1.txt"), str(tmp_path / "x2.txt")]
    assert tf.io.gfile.glob([str(tmp_path / "*.csv"), str(tmp_path / "x1*")]) == [
        str(tmp_path / "x1.txt"), str(tmp_path / "y.csv")]
    src, dst = str(tmp_path / "x1.txt"), str(tmp_path / "x2.txt")
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Copy(src, dst)
    tf.gfile.Copy(src, dst, overwrite=True)
    assert (tmp_path / "x2.txt").read_text() == "x1.txt"
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Rename(src, dst)
    tf.gfile.Rename(src, str(tmp_path / "z.txt"))
    assert not tf.gfile.Exists(src) and tf.gfile.Exists(str(tmp_path / "z.txt"))
    stat = tf.gfile.Stat(str(tmp_path / "z.txt"))
    assert stat.length == 6 and not stat.is_directory and stat.mtime_nsec > 0
    tf.gfile.Remove(str(tmp_path / "z.txt"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.Remove(str(tmp_path / "z.txt"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.Stat(str(tmp_path / "z.txt"))


def test_gfile_read_write(tmp_path):
    path = str(tmp_path / "notes.txt")
    with tf.gfile.GFile(path, "w") as f:
        f.write("line one\n")
        f.write(b"line two\n")
        f.write("last")
    with tf.gfile.GFile(path) as f:
        assert f.readline() == "line one\n"
        assert f.read() == "line two\nlast"
        assert f.readline() == ""
    with tf.gfile.Open(path, "rb") as f:
        assert f.read(4) == b"line" and f.tell() == 4
        f.seek(0)
        assert f.readlines() == [b"line one\n", b"line two\n", b"last"]
    assert list(tf.gfile.FastGFile(path, "r")) == ["line one\n", "line two\n", "last"]
    with tf.io.gfile.GFile(path, "a") as f:
        f.write("!")
        assert f.size() == 23
    with open(path) as f:
        assert f.read() == "line one\nline two\nlast!"


def test_gfile_errors(tmp_path):
    missing = tf.gfile.GFile(str(tmp_path / "missing.txt"))  # opens on first use, as TF1's
    with pytest.raises(tf.errors.NotFoundError, match="missing.txt"):
        missing.read()
    with pytest.raises(tf.errors.InvalidArgumentError, match="mode"):
        tf.gfile.GFile(str(tmp_path / "x"), "q")
    f = tf.gfile.GFile(str(tmp_path / "never_written"), "w")
    f.close()
    assert not tf.gfile.Exists(str(tmp_path / "never_written"))
    with pytest.raises(ValueError, match="closed"):
        f.write("x")
