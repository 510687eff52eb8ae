"""Compiling kernels with a forced vector width: LLVM's remarks about the loops it cannot vectorize stay hidden."""

import os

import numpy as np


def test_llvm_remarks_of_forced_vector_widths_are_dropped_and_other_stderr_is_kept(capfd):
    from graphdl.backends.numba_cpu.kernel_cache import _without_llvm_remarks, compile_kernel, wide_vectors
    from graphdl.backends.numba_cpu.kernels import conv_direct_codegen

    with _without_llvm_remarks():
        os.write(2, b"remark: <unknown>:0:0: loop not vectorized: a test line\n")
        os.write(2, b"a message that is not a remark\n")
    err = capfd.readouterr().err
    assert "remark:" not in err and "a message that is not a remark" in err
    # A real kernel whose outer loops LLVM reports under the forced width (conv_direct's filter gradient),
    # compiled afresh (no disk cache): nothing reaches stderr.
    source = conv_direct_codegen._HEADER.replace("'cache': True", "'cache': False")
    namespace = {}
    exec(compile(source + conv_direct_codegen._gradient_source(5, 5, 3), "<tap_gradients>", "exec"), namespace)  # noqa: S102 - our own generated source, uncached
    xp, dyw, dw = np.zeros((2, 3, 12, 12), np.float32), np.zeros((2, 6, 8, 12), np.float32), np.zeros((5, 5, 3, 6), np.float32)
    compile_kernel(namespace["tap_gradients"], (xp, dyw, dw, 0, 0))
    namespace["tap_gradients"](xp, dyw, dw, 0, 2)
    assert "remark" not in capfd.readouterr().err, f"wide vectors: {wide_vectors()}"
