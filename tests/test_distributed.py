"""graphdl.distributed: data-parallel training on MPI, checked against single-process training.

The MPI tests launch ``mpiexec -n 2`` and ``-n 4`` on tests/mpi_worker.py: after a few Adam steps
every worker holds the same variables, equal (within float32 rounding) to one process training on
the concatenated batches. They also check that a stalled, crashed or vanished worker and mismatched
graphs end the job with a clear error instead of a hang. Without mpi4py/mpiexec they are skipped,
or fail when GRAPHDL_REQUIRE_SYSTEM_TOOLS=1 (as in CI). The rest runs in this process as a world of
one worker.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import graphdl as tf
import graphdl.distributed as hvd
from graphdl import errors
from graphdl.distributed import world as world_module

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
WORKER = TESTS / "mpi_worker.py"


def _mpiexec():
    beside_python = Path(sys.executable).with_name("mpiexec")
    return str(beside_python) if beside_python.exists() else shutil.which("mpiexec")


@pytest.fixture
def mpiexec():
    """The mpiexec command; skip (or fail with GRAPHDL_REQUIRE_SYSTEM_TOOLS=1) without mpi4py and mpiexec."""
    command = _mpiexec()
    missing = [what for what, ok in (("mpi4py", importlib.util.find_spec("mpi4py") is not None),
                                     ("mpiexec", command is not None)) if not ok]
    if missing:
        message = f"{' and '.join(missing)} not installed (pip install 'graphdl[mpi]')"
        if os.environ.get("GRAPHDL_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(f"{message}, and GRAPHDL_REQUIRE_SYSTEM_TOOLS=1 requires it")
        pytest.skip(message)
    return command


def launch(mpiexec, n, *args, env=None, timeout=120, launcher_flags=()):
    """Run ``mpiexec -n n python *args`` from tests/; returns (process, seconds)."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                    NUMBA_NUM_THREADS="1", **(env or {}))
    start = time.monotonic()
    proc = subprocess.run([mpiexec, *launcher_flags, "-n", str(n), sys.executable, *map(str, args)], cwd=TESTS,
                          env=full_env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, time.monotonic() - start


def output(proc):
    return f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


@pytest.fixture
def single_worker():
    """This process as a world of one worker (forgotten afterwards)."""
    world_module._reset_for_tests()
    hvd.init()
    yield
    world_module._reset_for_tests()


# ----------------------------------------------------------------------------- several workers (mpiexec)
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``n -> folder`` of the ranks' results of mpi_worker.py ``train`` on n workers (launched once per n)."""
    folders = {}

    def run(mpiexec, n):
        if n not in folders:
            folder = tmp_path_factory.mktemp(f"train{n}")
            proc, _ = launch(mpiexec, n, WORKER, "train", folder)
            assert proc.returncode == 0, output(proc)
            folders[n] = folder
        return folders[n]

    return run


@pytest.mark.parametrize("n", [2, 4])
def test_workers_agree_with_single_process_training(mpiexec, trained, n):
    import mpi_worker

    folder = trained(mpiexec, n)
    ranks = [np.load(folder / f"rank{r}.npz") for r in range(n)]
    expected, expected_losses = mpi_worker.train_single_process(n)
    start = mpi_worker.initial_params()
    for name, value in expected.items():
        for r, result in enumerate(ranks):
            # Ranks 1.. started from other weights: the broadcast gave them rank 0's.
            np.testing.assert_array_equal(result[f"start_{name}"], start[name], err_msg=f"rank {r} start {name}")
            np.testing.assert_array_equal(result[f"final_{name}"], ranks[0][f"final_{name}"],
                                          err_msg=f"rank {r} differs from rank 0 in {name}")
        assert not np.array_equal(ranks[0][f"final_{name}"], start[name]), f"{name} did not train"
        np.testing.assert_allclose(ranks[0][f"final_{name}"], value, rtol=1e-5, atol=1e-6, err_msg=name)
    # Each worker's loss is over its part of the global batch; their mean is the global batch's loss.
    np.testing.assert_allclose(np.mean([r["losses"] for r in ranks], axis=0), expected_losses, rtol=1e-5)
    offsets = np.arange(n, dtype=np.float32)
    for r, result in enumerate(ranks):
        np.testing.assert_array_equal(result["reduced"], np.arange(3) * n + offsets.sum())
        np.testing.assert_array_equal(result["grad"], np.full(3, n * (n + 1) / 2))  # sum over ranks of rank + 1
        # One fused allreduce per step (all four gradients), plus the gradient check's forward and backward.
        assert int(result["allreduce_calls"]) == mpi_worker.STEPS + 2
        assert int(result["broadcast_calls"]) == 1
        assert (int(result["size"]), int(result["local_size"]), int(result["local_rank"])) == (n, n, r)


def test_fp16_compression_keeps_workers_identical(mpiexec, trained):
    import mpi_worker

    folder = trained(mpiexec, 2)  # the same launch trains once more with Compression.fp16
    ranks = [np.load(folder / f"fp16_rank{r}.npz") for r in range(2)]
    expected, _ = mpi_worker.train_single_process(2)
    for name, value in expected.items():
        np.testing.assert_array_equal(ranks[1][f"final_{name}"], ranks[0][f"final_{name}"], err_msg=name)
        assert ranks[0][f"final_{name}"].dtype == np.float32
        # float16 gradients: Adam's update moves by at most ~lr per step, rounding changes it by ~1e-3 of that.
        np.testing.assert_allclose(ranks[0][f"final_{name}"], value, atol=2e-3, err_msg=name)


def test_a_stalled_worker_times_out_with_a_clear_error(mpiexec, tmp_path):
    proc, seconds = launch(mpiexec, 2, WORKER, "stall", tmp_path, env={"GRAPHDL_MPI_TIMEOUT": "2"})
    assert proc.returncode != 0, output(proc)
    assert "DeadlineExceededError" in proc.stderr, output(proc)
    assert "rank 0 of 2 waited 2 s for the other workers to join an allreduce" in proc.stderr, output(proc)
    assert "GRAPHDL_MPI_TIMEOUT" in proc.stderr
    assert "finished all steps" not in proc.stdout
    assert seconds < 40, f"the job took {seconds:.0f} s: the sleeping worker was not aborted"


def test_a_crashed_worker_ends_the_job_without_waiting_for_the_timeout(mpiexec, tmp_path):
    proc, seconds = launch(mpiexec, 2, WORKER, "crash", tmp_path, env={"GRAPHDL_MPI_TIMEOUT": "60"})
    assert proc.returncode != 0, output(proc)
    assert "rank 1 of 2 stopped on an uncaught RuntimeError; aborting every worker" in proc.stderr, output(proc)
    assert "worker 1 crashed on purpose" in proc.stderr
    assert seconds < 40, f"the job took {seconds:.0f} s: it waited for the collective timeout"


def test_a_vanished_worker_is_reported_by_the_others(mpiexec, tmp_path):
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, check=False).stdout
    if "HYDRA" not in version:
        pytest.skip("-disable-auto-cleanup is an option of MPICH's mpiexec (Hydra)")
    # Hydra's default kills the remaining workers at once; with this flag it signals them, and they report it.
    proc, seconds = launch(mpiexec, 2, WORKER, "die", tmp_path, env={"GRAPHDL_MPI_TIMEOUT": "60"},
                           launcher_flags=("-disable-auto-cleanup",))
    assert proc.returncode != 0, output(proc)
    assert "rank 0 of 2: the MPI launcher reports that another worker process failed" in proc.stderr, output(proc)
    assert seconds < 40


def test_mismatched_graphs_raise_on_every_worker(mpiexec, tmp_path):
    proc, _ = launch(mpiexec, 2, WORKER, "mismatch", tmp_path, env={"GRAPHDL_MPI_TIMEOUT": "20"})
    assert proc.returncode != 0, output(proc)
    for rank in (0, 1):
        assert f"(Seen on rank {rank} of 2.)" in proc.stderr, output(proc)
    assert "the workers run different graphs (entry 1: rank 0 has 'W1' float32 (8, 6), rank 1 has 'W1' float32 " \
           "(8, 8))" in proc.stderr
    assert "finished all steps" not in proc.stdout


def test_example_reaches_its_target_on_two_workers(mpiexec):
    proc, _ = launch(mpiexec, 2, REPO / "examples" / "distributed_mnist.py", "--check", timeout=300)
    assert proc.returncode == 0, output(proc)
    assert "2 worker(s), 719 training examples each per epoch, global batch 64, 345 steps" in proc.stdout  # 1438 // 2
    assert proc.stdout.count("test accuracy:") == 1, "only rank 0 prints metrics"
    losses = [float(line.split("loss")[1]) for line in proc.stdout.splitlines() if line.startswith("epoch")]
    assert len(losses) == 15 and losses[-1] < losses[0] / 5, proc.stdout
    accuracy = float(proc.stdout.split("test accuracy:")[1].split()[0])
    assert accuracy >= 0.95, proc.stdout


def test_example_runs_as_one_process_without_mpiexec():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "distributed_mnist.py"), "--steps", "5"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, output(proc)
    assert "1 worker(s), 1438 training examples each per epoch, global batch 32, 5 steps" in proc.stdout
    assert "steps: 5" in proc.stdout and "test accuracy:" in proc.stdout


def test_bench_runs_w1_on_one_and_two_processes(mpiexec, tmp_path):
    table = tmp_path / "distributed.md"
    proc = subprocess.run([sys.executable, "-m", "bench.distributed", "--rounds", "1", "--steps", "5", "--warmup", "1",
                           "--max-load", "100", "--configs", "1x128,2x64", "--markdown", str(table)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, output(proc)
    rows = [line for line in table.read_text().splitlines() if line.startswith(("| 1 process", "| 2 processes"))]
    assert len(rows) == 2, table.read_text()
    assert all("| 2.37813 |" in row for row in rows), rows  # W1's first loss, also averaged over two half batches
    assert " ms | " in rows[1]  # the allreduce time per step


# ----------------------------------------------------------------------------- one worker, in this process
def test_import_graphdl_does_not_start_mpi():
    code = "import sys, graphdl; assert 'mpi4py' not in sys.modules and 'graphdl.distributed' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert tf.distributed is hvd


def test_ops_need_init():
    world_module._reset_for_tests()
    with tf.Session() as sess, pytest.raises(errors.FailedPreconditionError, match=r"needs graphdl\.distributed\."
                                                                                     r"init\(\)"):
        sess.run(hvd.allreduce(tf.constant([1.0])))
    with pytest.raises(ValueError, match=r"call graphdl\.distributed\.init\(\) first"):
        hvd.size()


def test_without_mpi4py_a_lone_process_is_one_worker(monkeypatch):
    world_module._reset_for_tests()
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.warns(UserWarning, match="mpi4py is not installed, running as a single worker"):
        hvd.init()
    assert (hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size()) == (0, 1, 0, 1)
    world_module._reset_for_tests()
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.raises(ImportError, match="started by an MPI launcher with 4 workers"):
        hvd.init()
    world_module._reset_for_tests()


@pytest.mark.parametrize("backend", ["numba", "reference", "cuda"])
def test_single_worker_collectives_are_identities(single_worker, backend):
    x = tf.constant([[1.0, -2.0], [3.0, 0.5]])
    reduced = hvd.allreduce(x)
    summed = hvd.allreduce(x, op=hvd.Sum)
    grad = tf.gradients(tf.reduce_sum(reduced * 3.0), x)[0]
    counter = tf.Variable(np.int64(7), name="counter")
    weights = tf.Variable(np.ones((2, 3), np.float32), name="weights")
    bcast = hvd.broadcast_global_variables(0)
    with tf.Session(backend=backend) as sess:
        sess.run(tf.global_variables_initializer())
        r, s, g = sess.run([reduced, summed, grad])
        sess.run(bcast)
        np.testing.assert_array_equal(r, [[1.0, -2.0], [3.0, 0.5]])
        np.testing.assert_array_equal(s, r)
        np.testing.assert_array_equal(g, np.full((2, 2), 3.0))
        assert sess.run(counter) == 7
        np.testing.assert_array_equal(sess.run(weights), np.ones((2, 3)))


def test_passes_keep_every_collective(single_worker):
    x = tf.constant([1.0, 2.0])
    a, b = hvd.allreduce(x), hvd.allreduce(x)  # same inputs: CSE must not merge them, folding must not fold them
    with tf.Session() as sess:
        explanation = sess.explain([a, b])
        assert [op.type for op in explanation.program.ops].count("MPIAllreduce") == 2
        np.testing.assert_array_equal(sess.run(a + b), [2.0, 4.0])


def test_single_worker_distributed_optimizer_is_the_wrapped_optimizer(single_worker):
    import mpi_worker

    expected, expected_losses = mpi_worker.train_single_process(1)
    with tf.Graph().as_default():
        m = mpi_worker.build_model(mpi_worker.initial_params())
        assert not [op for op in tf.get_default_graph().get_operations() if op.type == "MPIAllreduce"]
        x, y = mpi_worker.dataset(1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([m["train_op"], m["loss"]], {m["x"]: x[i * 4:(i + 1) * 4], m["y"]: y[i * 4:(i + 1) * 4]})[1]
                      for i in range(mpi_worker.STEPS)]
            for name, value in expected.items():
                np.testing.assert_array_equal(sess.run(m["vars"][name]), value)
    np.testing.assert_array_equal(losses, expected_losses)


def test_distributed_optimizer_fuses_gradients_into_few_allreduce_ops(single_worker, monkeypatch):
    monkeypatch.setattr(world_module.world(), "size", 2)  # build as a worker of two (the graph only)
    variables = [tf.Variable(np.ones(shape, np.float32), name=f"v{i}") for i, shape in
                 enumerate([(100, 10), (10,), (10, 5), (5,)])]
    loss = tf.add_n([tf.reduce_sum(v * v) for v in variables])
    opt = hvd.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1))
    grads_and_vars = opt.compute_gradients(loss)
    ops = [op for op in tf.get_default_graph().get_operations() if op.type == "MPIAllreduce"]
    assert len(ops) == 1 and len(ops[0].inputs) == 4
    assert ops[0].attrs["tensor_names"] == ("v0", "v1", "v2", "v3")
    assert [g.op for g, _ in grads_and_vars] == [ops[0]] * 4
    # A 4000-byte bucket limit splits the 4000 + 40 + 200 + 20 bytes into two buckets.
    small = hvd.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1), fusion_threshold_bytes=4000)
    small.compute_gradients(loss)
    ops = [op for op in tf.get_default_graph().get_operations() if op.type == "MPIAllreduce"][1:]
    assert [len(op.inputs) for op in ops] == [1, 3]
    # float16 on the wire: the gradients are cast before the allreduce and back after it.
    fp16 = hvd.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1), compression=hvd.Compression.fp16)
    grads = fp16.compute_gradients(loss)
    op = [op for op in tf.get_default_graph().get_operations() if op.type == "MPIAllreduce"][-1]
    assert {t.dtype for t in op.inputs} == {tf.float16}
    assert {g.dtype for g, _ in grads} == {tf.float32}


def test_bad_arguments_raise_clear_errors(single_worker, monkeypatch):
    with pytest.raises(TypeError, match="wraps a graphdl optimizer"):
        hvd.DistributedOptimizer("adam")
    with pytest.raises(ValueError, match="op must be graphdl.distributed.Average or graphdl.distributed.Sum"):
        hvd.DistributedOptimizer(tf.train.AdamOptimizer(), op="max")
    with pytest.raises(errors.InvalidArgumentError, match="input 'Const:0' is int32, but averaging needs floating-point"):
        hvd.allreduce(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="only numeric and bool variables can be broadcast"):
        hvd.broadcast_variables([tf.Variable(b"text", name="s")])
    world_module._reset_for_tests()
    monkeypatch.setenv("GRAPHDL_MPI_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GRAPHDL_MPI_TIMEOUT='soon' is not a number of seconds"):
        hvd.init()
    monkeypatch.setenv("GRAPHDL_MPI_TIMEOUT", "7.5")
    hvd.init()
    assert world_module.world().timeout == 7.5
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="root_rank 3 is not a worker"):
        sess.run(hvd.broadcast(tf.constant([1.0]), root_rank=3))


def test_broadcast_hook_runs_the_broadcast_when_the_session_starts(single_worker):
    v = tf.Variable(np.arange(4, dtype=np.float32), name="v")
    hook = hvd.BroadcastGlobalVariablesHook(0)
    hook.begin()
    assert hook.bcast_op.type == "NoOp"
    assert any(op.type == "MPIBroadcast" for op in tf.get_default_graph().get_operations())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        hook.after_create_session(sess, None)
        np.testing.assert_array_equal(sess.run(v), np.arange(4))


# ----------------------------------------------------------------------------- sharding
@pytest.mark.parametrize("num_examples,workers", [(100, 1), (100, 2), (103, 4), (3, 4)])
def test_shard_indices_are_disjoint_equal_and_cover_a_permutation(num_examples, workers):
    shards = [hvd.shard_indices(num_examples, epoch=3, seed=5, num_workers=workers, worker=w) for w in range(workers)]
    usable = num_examples - num_examples % workers
    assert {len(s) for s in shards} == {usable // workers}
    everything = np.concatenate(shards)
    assert len(set(everything.tolist())) == usable  # disjoint
    assert set(everything.tolist()) <= set(range(num_examples))
    again = hvd.shard_indices(num_examples, epoch=3, seed=5, num_workers=workers, worker=0)
    np.testing.assert_array_equal(again, shards[0])
    if usable >= 8:
        other_epoch = hvd.shard_indices(num_examples, epoch=4, seed=5, num_workers=workers, worker=0)
        assert not np.array_equal(other_epoch, shards[0])


def test_shard_indices_give_each_step_the_single_process_global_batch():
    n, workers, batch = 64, 4, 4
    permutation = np.random.default_rng([0, 2]).permutation(n)
    shards = [hvd.shard_indices(n, epoch=2, seed=0, num_workers=workers, worker=w) for w in range(workers)]
    for step in range(n // (workers * batch)):
        together = np.concatenate([s[step * batch:(step + 1) * batch] for s in shards])
        global_batch = permutation[step * batch * workers:(step + 1) * batch * workers]
        assert sorted(together) == sorted(global_batch)
    with pytest.raises(ValueError, match=r"worker must be in \[0, num_workers\)"):
        hvd.shard_indices(10, num_workers=2, worker=2)


def test_dataset_shard(single_worker):
    dataset = tf.data.Dataset.range(10).shard(3, 1)
    assert hvd.shard(tf.data.Dataset.range(4)) is not None
    next_element = dataset.make_one_shot_iterator().get_next()
    values = []
    with tf.Session() as sess, pytest.raises(errors.OutOfRangeError):
        while True:
            values.append(int(sess.run(next_element)))
    assert values == [1, 4, 7]
    bad = tf.data.Dataset.range(4).shard(2, 2).make_one_shot_iterator().get_next()
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match=r"index must be in \[0, num_shards\)"):
        sess.run(bad)
    whole = hvd.shard(tf.data.Dataset.range(5)).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert [int(sess.run(whole)) for _ in range(5)] == [0, 1, 2, 3, 4]  # one worker: everything


def test_broadcast_hook_inside_monitored_training_session(single_worker, tmp_path):
    assert issubclass(hvd.BroadcastGlobalVariablesHook, tf.train.SessionRunHook)
    v = tf.Variable(np.arange(4, dtype=np.float32), name="v")
    step = tf.train.get_or_create_global_step()
    train_op = tf.group(v.assign_add(tf.ones([4])), step.assign_add(1))
    final = tf.train.FinalOpsHook(v)
    hooks = [hvd.BroadcastGlobalVariablesHook(0), tf.train.StopAtStepHook(last_step=3), final]
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), hooks=hooks) as sess:
        # The hook built its broadcast op before the graph was finalized and ran it when the session started.
        assert any(op.type == "MPIBroadcast" for op in tf.get_default_graph().get_operations())
        runs = 0
        while not sess.should_stop():
            sess.run(train_op)
            runs += 1
    assert runs == 3
    np.testing.assert_array_equal(final.final_ops_values, np.arange(4) + 3)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-3")
