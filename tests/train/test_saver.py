"""tf.train.Saver: bit-identical round trips (rebuilt graph, new process), state file, max_to_keep, errors."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from harness import OP_TEST_BACKENDS

import graphdl as tf
from graphdl import errors

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 1.0, 0.5], [0.1, 0.2, 0.3]], np.float32)
Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]], np.float32)


def build_model():
    """A dense layer trained by Adam with a global step (the model code a user re-runs to restore)."""
    x = tf.constant(X)
    with tf.variable_scope("dense"):
        kernel = tf.get_variable("kernel", [3, 2], initializer=tf.random_normal_initializer(seed=1))
        bias = tf.get_variable("bias", [2], initializer=tf.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(x, kernel) + bias - Y))
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
    return train


def values_by_name(sess):
    variables = tf.global_variables()
    return dict(zip([v.op.name for v in variables], sess.run(variables)))


def train_and_save(tmp_path, backend="reference", steps=3, **saver_kw):
    g = tf.Graph()
    with g.as_default():
        train = build_model()
        saver = tf.train.Saver(**saver_kw)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train)
            path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=tf.train.get_global_step())
            return path, values_by_name(sess)


def restore_fresh(path, backend="reference"):
    g = tf.Graph()
    with g.as_default():
        build_model()
        saver = tf.train.Saver()
        with tf.Session(backend=backend) as sess:
            saver.restore(sess, path)
            return values_by_name(sess)


def assert_bit_identical(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("backend", OP_TEST_BACKENDS)
def test_round_trip_into_rebuilt_graph_is_bit_identical(tmp_path, backend):
    path, saved = train_and_save(tmp_path, backend)
    assert path == str(tmp_path / "model.ckpt-3")
    # Adam slots and beta powers are global variables, so they are saved too.
    assert {"dense/kernel", "dense/bias", "global_step", "dense/kernel/Adam", "dense/kernel/Adam_1"} <= set(saved)
    assert int(saved["global_step"]) == 3
    restored = restore_fresh(path, backend)
    assert_bit_identical(saved, restored)
    # Not just the initial values: training moved the kernel away from its initializer.
    g = tf.Graph()
    with g.as_default():
        build_model()
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            assert not np.array_equal(values_by_name(sess)["dense/kernel"], saved["dense/kernel"])


def test_restored_training_continues_identically(tmp_path):
    path, _ = train_and_save(tmp_path, steps=2)
    g = tf.Graph()
    with g.as_default():
        train = build_model()
        with tf.Session(backend="reference") as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(4):
                sess.run(train)
            straight = values_by_name(sess)
    g = tf.Graph()
    with g.as_default():
        train = build_model()
        with tf.Session(backend="reference") as sess:
            tf.train.Saver().restore(sess, path)
            for _ in range(2):
                sess.run(train)
            resumed = values_by_name(sess)
    assert_bit_identical(straight, resumed)


_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests_dir!r})
    sys.path.insert(0, {train_dir!r})
    import graphdl as tf
    from test_saver import build_model, values_by_name
    mode, ckpt_dir = sys.argv[1], sys.argv[2]
    train = build_model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        if mode == "save":
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train)
            saver.save(sess, ckpt_dir + "/model.ckpt", global_step=3)
        else:
            saver.restore(sess, tf.train.latest_checkpoint(ckpt_dir))
        vals = values_by_name(sess)
    print(json.dumps({{k: [str(v.dtype), v.tolist()] for k, v in vals.items()}}))
    """
)


def test_save_in_one_process_restore_in_another(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests_dir=os.path.dirname(here), train_dir=here))
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()

    def run(mode):
        out = subprocess.run(
            [sys.executable, str(script), mode, str(ckpt_dir)], check=False, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    saved = run("save")
    restored = run("restore")
    assert saved == restored  # floats round-trip exactly through repr, so this is bit-identical
    assert saved["global_step"][1] == 3
    assert len(saved) >= 7


def test_global_step_naming_state_file_and_latest_checkpoint(tmp_path):
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    assert tf.train.get_checkpoint_state(str(tmp_path)) is None
    path, _ = train_and_save(tmp_path)
    assert os.path.basename(path) == "model.ckpt-3"
    assert os.path.isfile(path + ".npz") and os.path.isfile(path + ".index.json")
    assert tf.train.checkpoint_exists(path)
    assert not tf.train.checkpoint_exists(str(tmp_path / "model.ckpt-4"))
    text = (tmp_path / "checkpoint").read_text()
    assert text == 'model_checkpoint_path: "model.ckpt-3"\nall_model_checkpoint_paths: "model.ckpt-3"\n'
    assert tf.train.latest_checkpoint(str(tmp_path)) == path
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == path
    assert state.all_model_checkpoint_paths == [path]
    # No temp files left behind.
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint", "model.ckpt-3.index.json", "model.ckpt-3.meta", "model.ckpt-3.npz"]
    index = json.loads((tmp_path / "model.ckpt-3.index.json").read_text())
    assert index["format"] == "graphdl-checkpoint" and index["version"] == 1
    assert index["variables"]["dense/kernel"]["shape"] == [3, 2]
    assert index["variables"]["dense/kernel"]["dtype"] == "float32"
    # The data file is a plain .npz readable by NumPy without pickle.
    with np.load(path + ".npz", allow_pickle=False) as npz:
        assert npz["dense/kernel"].shape == (3, 2)


def test_max_to_keep_and_pad_step_number(tmp_path):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.float32(0.0), name="v")
        saver = tf.train.Saver(max_to_keep=2, pad_step_number=True)
        with tf.Session() as sess:
            sess.run(v.initializer)
            paths = []
            for step in range(1, 5):
                v.load(np.float32(step), sess)
                paths.append(saver.save(sess, str(tmp_path / "m"), global_step=step))
            assert os.path.basename(paths[0]) == "m-00000001"
            assert saver.last_checkpoints == paths[2:]
            for p in paths[:2]:
                assert not os.path.exists(p + ".npz") and not os.path.exists(p + ".index.json")
            for p in paths[2:]:
                assert tf.train.checkpoint_exists(p)
            state = tf.train.get_checkpoint_state(str(tmp_path))
            assert state.model_checkpoint_path == paths[3]
            assert state.all_model_checkpoint_paths == paths[2:]
            saver.restore(sess, paths[2])
            assert sess.run(v) == 3.0


def test_max_to_keep_none_keeps_all_files(tmp_path):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        saver = tf.train.Saver(max_to_keep=None)
        with tf.Session() as sess:
            sess.run(v.initializer)
            paths = [saver.save(sess, str(tmp_path / "m"), global_step=s) for s in range(4)]
    assert all(tf.train.checkpoint_exists(p) for p in paths)
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[-1]


def test_var_list_as_list_and_dict(tmp_path):
    g = tf.Graph()
    with g.as_default():
        a = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="a")
        b = tf.Variable(np.int32(7), name="b")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            p_list = tf.train.Saver([a]).save(sess, str(tmp_path / "list"))
            p_dict = tf.train.Saver({"renamed/a": a, "bee": b}).save(sess, str(tmp_path / "dict"))
    assert set(json.loads(Path(p_list + ".index.json").read_text())["variables"]) == {"a"}
    assert set(json.loads(Path(p_dict + ".index.json").read_text())["variables"]) == {"renamed/a", "bee"}

    g = tf.Graph()
    with g.as_default():
        x = tf.Variable(np.zeros((2, 3), np.float32), name="other_name")
        y = tf.Variable(np.int32(0), name="y")
        with tf.Session(backend="numba") as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver({"renamed/a": x, "bee": y}).restore(sess, p_dict)
            assert np.array_equal(sess.run(x), np.arange(6, dtype=np.float32).reshape(2, 3))
            assert sess.run(y) == 7
            # A list saver only restores its own variables: y keeps its value.
            y.load(np.int32(1), sess)
            tf.train.Saver({"a": x}).restore(sess, p_list)
            assert sess.run(y) == 1


def test_constructor_errors():
    g = tf.Graph()
    with g.as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
        assert tf.train.Saver(allow_empty=True).last_checkpoints == []
        v = tf.Variable(1.0, name="v")
        with pytest.raises(ValueError, match="same name: v"):
            tf.train.Saver([v, v])
        with pytest.raises(TypeError, match="must be Variables"):
            tf.train.Saver([tf.constant(1.0)])
        with pytest.raises(TypeError, match="must be a Variable"):
            tf.train.Saver({"k": tf.constant(1.0)})
        # defer_build resolves the global variables at the first save/restore (or build()).
        deferred = tf.train.Saver(defer_build=True)
        w = tf.Variable(2.0, name="w")
        deferred.build()
        assert set(deferred._vars) == {"v", "w"} and deferred._vars["w"] is w


def _simple_checkpoint(tmp_path):
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.ones((2, 3), np.float32), name="w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            return tf.train.Saver().save(sess, str(tmp_path / "ck"))


def _restore_into(path, shape=(2, 3), name="w", dtype=np.float32, **kw):
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.zeros(shape, dtype), name=name)
        with tf.Session() as sess:
            sess.run(w.initializer)
            tf.train.Saver(**kw).restore(sess, path)
            return sess.run(w)


def test_restore_missing_checkpoint(tmp_path):
    with pytest.raises(errors.NotFoundError, match="no checkpoint found at .*nothing"):
        _restore_into(str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="Can't load save_path when it is None"):
        _restore_into(None)


@pytest.mark.parametrize("corruption", ["truncate", "flip", "delete_index_json_tail"])
def test_corrupt_checkpoint_detected(tmp_path, corruption):
    path = _simple_checkpoint(tmp_path)
    assert np.array_equal(_restore_into(path), np.ones((2, 3), np.float32))
    if corruption == "truncate":
        data = Path(path + ".npz").read_bytes()
        Path(path + ".npz").write_bytes(data[: len(data) - 20])
        target = path + ".npz"
    elif corruption == "flip":
        data = bytearray(Path(path + ".npz").read_bytes())
        data[len(data) // 2] ^= 0x01
        Path(path + ".npz").write_bytes(bytes(data))
        target = path + ".npz"
    else:
        data = Path(path + ".index.json").read_bytes()
        Path(path + ".index.json").write_bytes(data[: len(data) // 2])
        target = path + ".index.json"
    with pytest.raises(errors.DataLossError) as info:
        _restore_into(path)
    assert target in str(info.value) and "corrupt" in str(info.value)


def test_missing_data_file(tmp_path):
    path = _simple_checkpoint(tmp_path)
    os.remove(path + ".npz")
    with pytest.raises(errors.NotFoundError, match="data file .*ck.npz is missing"):
        _restore_into(path)


def test_variable_missing_in_checkpoint(tmp_path):
    path = _simple_checkpoint(tmp_path)
    with pytest.raises(errors.NotFoundError, match="Key dense/kernel not found in checkpoint .*ck"):
        _restore_into(path, name="dense/kernel")


def test_shape_and_dtype_mismatch(tmp_path):
    path = _simple_checkpoint(tmp_path)
    with pytest.raises(errors.InvalidArgumentError) as info:
        _restore_into(path, shape=(3, 2))
    msg = str(info.value)
    assert "'w'" in msg and "(3, 2)" in msg and "(2, 3)" in msg
    with pytest.raises(errors.InvalidArgumentError, match="'w'.*float64.*float32"):
        _restore_into(path, dtype=np.float64)
    # reshape=True accepts the same number of elements (TF1's Saver(reshape=True)).
    assert np.array_equal(_restore_into(path, shape=(3, 2), reshape=True), np.ones((3, 2), np.float32))


def test_failed_restore_assigns_nothing(tmp_path):
    path = _simple_checkpoint(tmp_path)
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.zeros((2, 3), np.float32), name="w")
        tf.Variable(np.zeros(2, np.float32), name="z")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(errors.NotFoundError, match="Key z not found"):
                tf.train.Saver().restore(sess, path)
            assert np.array_equal(sess.run(w), np.zeros((2, 3), np.float32))


def test_object_arrays_refused_and_bad_save_dir(tmp_path):
    from graphdl.train import saver as saver_mod

    class FakeSession:
        def run(self, fetches):
            return [np.array([{"a": 1}], dtype=object)]

    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0, name="v")
        s = tf.train.Saver()
        with pytest.raises(TypeError, match="Cannot save variable 'v'.*no pickled objects"):
            s.save(FakeSession(), str(tmp_path / "obj"))
        assert not os.listdir(tmp_path)
        with tf.Session() as sess:
            sess.run(v.initializer)
            with pytest.raises(ValueError, match="Parent directory of .* doesn't exist"):
                s.save(sess, str(tmp_path / "missing" / "m"))
    # A hand-made .npz with an object array is never unpickled at restore.
    arr = np.array([{"a": 1}], dtype=object)
    with open(tmp_path / "evil.npz", "wb") as f:
        np.savez(f, v=arr)
    index = {
        "format": saver_mod.FORMAT_NAME,
        "version": saver_mod.FORMAT_VERSION,
        "data_sha256": saver_mod._sha256_file(str(tmp_path / "evil.npz")),
        "variables": {"v": {"dtype": "object", "shape": [1], "sha256": ""}},
    }
    (tmp_path / "evil.index.json").write_text(json.dumps(index))
    with pytest.raises(errors.DataLossError, match="evil.npz.*'v'"):
        _restore_into(str(tmp_path / "evil"), shape=(), name="v")


def test_write_state_false_and_recover_last_checkpoints(tmp_path):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0, name="v")
        with tf.Session() as sess:
            sess.run(v.initializer)
            s = tf.train.Saver(max_to_keep=1)
            p = s.save(sess, str(tmp_path / "m"), global_step=1, write_state=False)
            assert not (tmp_path / "checkpoint").exists() and s.last_checkpoints == []
            s2 = tf.train.Saver(max_to_keep=1)
            s2.recover_last_checkpoints([p, str(tmp_path / "absent")])
            assert s2.last_checkpoints == [p]
            p2 = s2.save(sess, str(tmp_path / "m"), global_step=2, latest_filename="state")
            assert not tf.train.checkpoint_exists(p)
            assert tf.train.latest_checkpoint(str(tmp_path), latest_filename="state") == p2


def test_keep_checkpoint_every_n_hours_preserves_dropped_files(tmp_path):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0, name="v")
        with tf.Session() as sess:
            sess.run(v.initializer)
            s = tf.train.Saver(max_to_keep=1, keep_checkpoint_every_n_hours=0.0)
            paths = [s.save(sess, str(tmp_path / "m"), global_step=i) for i in range(3)]
    # Every dropped checkpoint is at least 0 hours after the last preserved one, so all files stay;
    # the state file and last_checkpoints still list only max_to_keep of them.
    assert all(tf.train.checkpoint_exists(p) for p in paths)
    assert s.last_checkpoints == paths[-1:]
    assert tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == paths[-1:]
