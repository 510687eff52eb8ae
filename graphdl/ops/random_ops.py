"""Random ops with TF1's seed rule: normal, truncated normal, uniform, shuffle, multinomial, gamma, poisson.

Every random op carries the attrs ``seed``/``seed2`` chosen by :func:`get_seed` when it is
built. A session draws from one generator per op (``SessionState.rng_for``): a seeded op
restarts its sequence in every new session and advances on every run inside one; an
unseeded op (``seed == seed2 == 0``) draws from fresh entropy.
"""

from __future__ import annotations

import math

import numpy as np

from graphdl import dtypes, errors
from graphdl.framework.constant_value import constant_value, constant_value_as_shape
from graphdl.framework.graph import get_default_graph
from graphdl.framework.op_def import define_op
from graphdl.framework.ops import convert_to_tensor, make_op, make_tensor, name_scope
from graphdl.framework.tensor_shape import Dimension, TensorShape
from graphdl.ops import array_ops, math_ops
from graphdl.ops.grad_utils import unbroadcast
from graphdl.ops.shape_inference import broadcast_dims

__all__ = [
    "get_seed",
    "multinomial",
    "random_crop",
    "random_gamma",
    "random_normal",
    "random_poisson",
    "random_shuffle",
    "random_uniform",
    "set_random_seed",
    "truncated_normal",
]

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1
_FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)
_INTS = (dtypes.int32, dtypes.int64)


# -- seeds ----------------------------------------------------------------------------------
def set_random_seed(seed):
    """Set the graph-level random seed of the default graph.

    With a graph seed, every random op built afterwards without its own seed gets a
    deterministic op seed (the number of ops already in the graph), so the same graph
    built the same way yields the same random sequences in every new session.
    """
    get_default_graph().seed = None if seed is None else int(seed)


def _truncate_seed(seed):
    return int(seed) % _MAXINT32


def get_seed(op_seed):
    """The ``(graph seed, op seed)`` pair a random op uses, by TF1's rule.

    Graph seed set, ``op_seed`` None: the op seed is the default graph's op count.
    ``op_seed`` set, no graph seed: the graph seed is ``DEFAULT_GRAPH_SEED``. Neither:
    ``(None, None)``, i.e. nondeterministic. ``(0, 0)`` becomes ``(0, 2**31 - 1)`` since
    ops read zero seeds as "nondeterministic".
    """
    graph = get_default_graph()
    global_seed = graph.seed
    if global_seed is not None:
        if op_seed is None:
            op_seed = graph._last_id
        seeds = _truncate_seed(global_seed), _truncate_seed(op_seed)
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, _truncate_seed(op_seed)
    else:
        seeds = None, None
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def _seed_attrs(seed):
    seed1, seed2 = get_seed(seed)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


# -- shared helpers ---------------------------------------------------------------------------
def _shape_tensor(shape):
    """A 1-D int tensor from a list/tuple/TensorShape/tensor giving an output shape."""
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError(f"Cannot use the partially known shape {shape} as the shape of random values; "
                             "pass a fully defined shape, or a shape tensor such as graphdl.shape(x).")
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)):
        shape = [d.value if isinstance(d, Dimension) else d for d in shape]
        if any(d is None for d in shape):
            raise ValueError(f"Cannot use the shape {list(shape)} with unknown (None) dims as the shape of random "
                             "values; pass a shape tensor such as graphdl.shape(x) instead.")
    return array_ops._shape_tensor(shape, name="shape")


def _check_dtype(dtype, allowed, fn):
    dtype = dtypes.as_dtype(dtype)
    if dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(f"{fn}: dtype {dtype.name} is not supported; expected one of: {names}")
    return dtype


def _infer_shape_input(op, index=0):
    """The static output shape read from the shape input ``op.inputs[index]``."""
    s = op.inputs[index]
    if s.dtype not in _INTS:
        raise TypeError(f"shape must be an int32 or int64 tensor, got '{s.name}' of dtype {s.dtype.name}")
    if s.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {s.shape.ndims}")
    value = constant_value(s)
    if value is not None and np.any(np.asarray(value) < 0):
        raise ValueError(f"shape {np.ravel(value).tolist()} has negative dimensions")
    return constant_value_as_shape(s).as_tuple()


def _dims(shape):
    dims = tuple(int(d) for d in np.ravel(shape))
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {list(dims)} has negative dimensions")
    return dims


def _float_gen_dtype(np_dtype):
    """NumPy generators produce float32/float64; float16 is drawn as float32 and cast."""
    return np.float64 if np_dtype == np.float64 else np.float32


def _random_op(op_type, kernel, infer):
    define_op(op_type, infer=infer, kernel=kernel, not_differentiable=True, stateful=True)


def _infer_from_shape(op):
    return [(_infer_shape_input(op), op.attrs["dtype"])]


# -- RandomStandardNormal / TruncatedNormal / RandomUniform ------------------------------------
def _standard_normal_kernel(ctx, shape):
    out_dtype = ctx.attrs["dtype"].np
    rng = ctx.state.rng_for(ctx.op)
    return rng.standard_normal(_dims(shape), dtype=_float_gen_dtype(out_dtype)).astype(out_dtype, copy=False)


def _truncated_normal_kernel(ctx, shape):
    out_dtype = ctx.attrs["dtype"].np
    gen_dtype = _float_gen_dtype(out_dtype)
    rng = ctx.state.rng_for(ctx.op)
    out = rng.standard_normal(_dims(shape), dtype=gen_dtype)
    redraw = np.abs(out) > 2.0
    while redraw.any():  # values more than 2 std from the mean are dropped and re-picked
        out[redraw] = rng.standard_normal(int(redraw.sum()), dtype=gen_dtype)
        redraw = np.abs(out) > 2.0
    return out.astype(out_dtype, copy=False)


def _uniform_kernel(ctx, shape):
    out_dtype = ctx.attrs["dtype"].np
    rng = ctx.state.rng_for(ctx.op)
    out = rng.random(_dims(shape), dtype=_float_gen_dtype(out_dtype)).astype(out_dtype, copy=False)
    if out_dtype == np.float16:  # rounding to float16 could reach 1.0; keep the range [0, 1)
        out = np.minimum(out, np.nextafter(np.float16(1), np.float16(0)))
    return out


_random_op("RandomStandardNormal", _standard_normal_kernel, _infer_from_shape)
_random_op("TruncatedNormal", _truncated_normal_kernel, _infer_from_shape)
_random_op("RandomUniform", _uniform_kernel, _infer_from_shape)


def _normal_like(op_type, default_name, shape, mean, stddev, dtype, seed, name):
    dtype = _check_dtype(dtype, _FLOATS, default_name)
    with name_scope(name, default_name, [shape, mean, stddev]) as scope:
        shape_tensor = _shape_tensor(shape)
        mean_tensor = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_tensor = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        attrs = {"dtype": dtype, **_seed_attrs(seed)}
        rnd = make_tensor(op_type, [shape_tensor], attrs, name=op_type)
        return math_ops.add(rnd * stddev_tensor, mean_tensor, name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Values from a normal distribution with the given ``mean`` and ``stddev``.

    ``shape`` is a list, TensorShape or 1-D int tensor (e.g. ``graphdl.shape(x)``);
    ``seed`` combines with the graph seed (``set_random_seed``) by TF1's rule.
    """
    return _normal_like("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal values with ``mean``/``stddev``, values beyond 2 standard deviations redrawn."""
    return _normal_like("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


def _infer_uniform_int(op):
    lo, hi = op.inputs[1], op.inputs[2]
    for what, t in (("minval", lo), ("maxval", hi)):
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"{what} must be a scalar (0-D), got shape {t.shape}")
        if t.dtype not in _INTS:
            raise TypeError(f"{what} '{t.name}' must be int32 or int64, got {t.dtype.name}")
    if lo.dtype != hi.dtype:
        raise TypeError(f"minval ({lo.dtype.name}) and maxval ({hi.dtype.name}) must have the same dtype")
    return [(_infer_shape_input(op), lo.dtype)]


def _uniform_int_kernel(ctx, shape, lo, hi):
    if not lo < hi:
        raise errors.InvalidArgumentError(
            None, ctx.op, f"RandomUniformInt '{ctx.op.name}': need minval < maxval, got minval={lo} >= maxval={hi}"
        )
    rng = ctx.state.rng_for(ctx.op)
    return rng.integers(int(lo), int(hi), size=_dims(shape), dtype=lo.dtype)


_random_op("RandomUniformInt", _uniform_int_kernel, _infer_uniform_int)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Values uniformly distributed in ``[minval, maxval)``.

    ``maxval`` defaults to 1 for float dtypes and is required for int32/int64, which draw
    integers (``RandomUniformInt``).
    """
    dtype = _check_dtype(dtype, _FLOATS + _INTS, "random_uniform")
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"random_uniform: must specify maxval for integer dtype {dtype.name}")
        maxval = 1
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        shape_tensor = _shape_tensor(shape)
        lo = convert_to_tensor(minval, dtype=dtype, name="min")
        hi = convert_to_tensor(maxval, dtype=dtype, name="max")
        attrs = _seed_attrs(seed)
        if dtype.is_integer:
            return make_tensor("RandomUniformInt", [shape_tensor, lo, hi], attrs, name=scope)
        rnd = make_tensor("RandomUniform", [shape_tensor], {"dtype": dtype, **attrs}, name="RandomUniform")
        return math_ops.add(rnd * (hi - lo), lo, name=scope)


# -- RandomShuffle -------------------------------------------------------------------------------
def _shuffle_kernel(ctx, x):
    if x.ndim == 0:
        return x.copy()
    return ctx.state.rng_for(ctx.op).permutation(x)


define_op(
    "RandomShuffle",
    infer=lambda op: [(op.inputs[0].shape.as_tuple(), op.inputs[0].dtype)],
    kernel=_shuffle_kernel,
    not_differentiable=True,
    stateful=True,
)


def random_shuffle(value, seed=None, name=None):
    """``value`` with its first dimension randomly permuted."""
    x = convert_to_tensor(value, name="value")
    attrs = _seed_attrs(seed)
    return make_tensor("RandomShuffle", [x], attrs, name=name or "RandomShuffle")


def random_crop(value, size, seed=None, name=None):
    """A random ``size``-shaped block of ``value`` (one random offset per dim), e.g. to crop images for augmentation.

    ``size`` must not exceed ``value``'s shape in any dim; known shapes are checked when
    the op is built.
    """
    from graphdl.ops.indexing_ops import slice as slice_

    with name_scope(name, "random_crop", [value, size]) as scope:
        value = convert_to_tensor(value, name="value")
        size = convert_to_tensor(size, dtype=dtypes.int32, name="size")
        dims, wanted = value.shape.as_tuple(), constant_value(size)
        if dims is not None and wanted is not None:
            wanted = [int(w) for w in np.ravel(wanted)]
            if len(wanted) != len(dims) or any(d is not None and w > d for d, w in zip(dims, wanted)):
                raise ValueError(f"random_crop: need value.shape >= size, got value '{value.name}' of shape "
                                 f"{value.shape} and size {wanted}")
        shape = array_ops.shape(value)
        # A size beyond value's shape then fails in the Slice op, which names the dims.
        limit = math_ops.maximum(shape - size + 1, 1)
        offset = random_uniform(array_ops.shape(shape), dtype=size.dtype, maxval=size.dtype.max, seed=seed) % limit
        return slice_(value, offset, size, name=scope)


# -- Multinomial -----------------------------------------------------------------------------------
def _infer_multinomial(op):
    logits, num_samples = op.inputs
    if not logits.dtype.is_floating:
        raise TypeError(f"logits '{logits.name}' must be a float tensor, got {logits.dtype.name}")
    if num_samples.shape.ndims not in (None, 0) or not num_samples.dtype.is_integer:
        raise ValueError(
            f"num_samples must be an int scalar, got {num_samples.dtype.name} of shape {num_samples.shape}"
        )
    out_dtype = op.attrs["output_dtype"]
    if out_dtype not in _INTS:
        raise TypeError(f"output_dtype must be int32 or int64, got {out_dtype.name}")
    dims = logits.shape.as_tuple()
    if dims is not None and len(dims) != 2:
        raise ValueError(f"logits should be a matrix [batch_size, num_classes], got shape {logits.shape}")
    if dims is not None and dims[1] == 0:
        raise ValueError("logits must have at least one class (num_classes > 0)")
    n = constant_value(num_samples)
    if n is not None and int(n) < 0:
        raise ValueError(f"num_samples must be >= 0, got {int(n)}")
    batch = None if dims is None else dims[0]
    return [((batch, None if n is None else int(n)), out_dtype)]


def _multinomial_kernel(ctx, logits, num_samples):
    n = int(num_samples)
    if logits.ndim != 2:
        raise ValueError(f"logits should be a matrix, got shape {logits.shape}")
    if n < 0:
        raise ValueError(f"num_samples must be >= 0, got {n}")
    batch, classes = logits.shape
    out = np.empty((batch, n), dtype=ctx.attrs["output_dtype"].np)
    if n == 0 or batch == 0:
        return out
    if classes == 0:
        raise ValueError("logits must have at least one class (num_classes > 0)")
    rng = ctx.state.rng_for(ctx.op)
    x = logits.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        top = np.max(x, axis=1, keepdims=True)
        top[~np.isfinite(top)] = 0.0
        cdf = np.cumsum(np.exp(x - top), axis=1)
    u = rng.random((batch, n)) * cdf[:, -1:]
    for b in range(batch):
        out[b] = np.minimum(np.searchsorted(cdf[b], u[b], side="right"), classes - 1)
    return out


define_op("Multinomial", infer=_infer_multinomial, kernel=_multinomial_kernel, not_differentiable=True, stateful=True)


def _multinomial_impl(logits, num_samples, output_dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    num_samples = convert_to_tensor(num_samples, dtype=dtypes.int32, name="num_samples")
    attrs = {"output_dtype": dtypes.as_dtype(output_dtype or dtypes.int64), **_seed_attrs(seed)}
    return make_tensor("Multinomial", [logits, num_samples], attrs, name="Multinomial")


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """Class indices ``[batch_size, num_samples]`` drawn from the categorical distributions ``softmax(logits)``.

    ``logits`` is ``[batch_size, num_classes]`` (unnormalized log-probabilities); the
    result is int64 unless ``output_dtype`` says int32.
    """
    with name_scope(name, "multinomial", [logits]):
        return _multinomial_impl(logits, num_samples, output_dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical``: samples ``[batch_size, num_samples]`` from ``softmax(logits)``."""
    with name_scope(name, "categorical", [logits]):
        return _multinomial_impl(logits, num_samples, dtype, seed)


# -- RandomGamma ---------------------------------------------------------------------------------------
def _infer_gamma(op):
    alpha = op.inputs[1]
    if alpha.dtype not in _FLOATS:
        raise TypeError(f"alpha '{alpha.name}' must be a float tensor, got {alpha.dtype.name}")
    return [(_concat_shapes(_infer_shape_input(op), alpha.shape.as_tuple()), alpha.dtype)]


def _concat_shapes(a, b):
    return None if a is None or b is None else tuple(a) + tuple(b)


def _gamma_kernel(ctx, shape, alpha):
    rng = ctx.state.rng_for(ctx.op)
    out_shape = _dims(shape) + alpha.shape
    a = np.broadcast_to(alpha.astype(np.float64), out_shape)
    with np.errstate(invalid="ignore"):
        sample = rng.standard_gamma(np.where(a > 0, a, 1.0))
    return np.where(a > 0, sample, np.nan).astype(alpha.dtype)


def _gamma_grad(op, dy):
    # Implicit reparameterization: d sample / d alpha at fixed CDF value (as TF's RandomGammaGrad).
    alpha, sample = op.inputs[1], op.outputs[0]
    partial = make_tensor("RandomGammaGrad", [alpha, sample], name="RandomGammaGrad")
    return [None, unbroadcast(dy * partial, alpha, sample)]


define_op("RandomGamma", infer=_infer_gamma, kernel=_gamma_kernel, grad=_gamma_grad, stateful=True)


def _log_gamma(a):
    return np.vectorize(math.lgamma, otypes=[np.float64])(a)


def _gamma_p_series(a, x):
    """Regularized lower incomplete gamma P(a, x) by its power series (accurate for x < a + 1)."""
    term = 1.0 / a
    total = term.copy()
    for k in range(1, 5000):
        term = term * x / (a + k)
        total += term
        if np.all(np.abs(term) <= np.abs(total) * 1e-17):
            break
    return total * np.exp(a * np.log(x) - x - _log_gamma(a))


def _gamma_q_fraction(a, x):
    """Regularized upper incomplete gamma Q(a, x) by its continued fraction (accurate for x >= a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full(a.shape, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, 5000):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) <= 1e-16):
            break
    return np.exp(a * np.log(x) - x - _log_gamma(a)) * h


def _gamma_grad_kernel(ctx, alpha, sample):
    """d sample / d alpha = -(dCDF/dalpha) / pdf, the CDF derivative by central differences in alpha.

    Below the mean the lower tail P is differentiated, above it the upper tail Q, so
    neither loses precision to ``1 - tiny``.
    """
    a, x = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(alpha, sample))
    grad = np.zeros(a.shape)
    ok = (x > 0) & (a > 0) & np.isfinite(x)
    h = np.maximum(1e-6 * a, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        lower = ok & (x < a + 1)
        upper = ok & ~lower
        if lower.any():
            al, xl, hl = a[lower], x[lower], h[lower]
            dcdf = (_gamma_p_series(al + hl, xl) - _gamma_p_series(al - hl, xl)) / (2 * hl)
            grad[lower] = -dcdf / np.exp((al - 1) * np.log(xl) - xl - _log_gamma(al))
        if upper.any():
            au, xu, hu = a[upper], x[upper], h[upper]
            dcdf = -(_gamma_q_fraction(au + hu, xu) - _gamma_q_fraction(au - hu, xu)) / (2 * hu)
            grad[upper] = -dcdf / np.exp((au - 1) * np.log(xu) - xu - _log_gamma(au))
    return grad.astype(sample.dtype)


def _infer_gamma_grad(op):
    alpha, sample = op.inputs
    return [(broadcast_dims(alpha.shape.as_tuple(), sample.shape.as_tuple()), sample.dtype)]


define_op(
    "RandomGammaGrad",
    infer=_infer_gamma_grad,
    kernel=_gamma_grad_kernel,
    not_differentiable=True,
)


def random_gamma(shape, alpha, beta=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples of shape ``shape + shape(alpha * beta)`` from Gamma(alpha, rate=beta) distributions.

    Differentiable with respect to ``alpha`` (implicit reparameterization) and ``beta``.
    """
    dtype = _check_dtype(dtype, _FLOATS, "random_gamma")
    with name_scope(name, "random_gamma", [shape, alpha, beta]):
        shape_tensor = _shape_tensor(shape)
        alpha = convert_to_tensor(alpha, dtype=dtype, name="alpha")
        beta = convert_to_tensor(beta if beta is not None else 1, dtype=dtype, name="beta")
        alpha_broadcast = alpha + array_ops.zeros_like(beta)
        attrs = _seed_attrs(seed)
        sample = make_tensor("RandomGamma", [shape_tensor, alpha_broadcast], attrs, name="RandomGamma")
        return math_ops.maximum(np.finfo(dtype.np).tiny, sample / beta)


# -- RandomPoissonV2 ------------------------------------------------------------------------------------
def _infer_poisson(op):
    rate = op.inputs[1]
    if not rate.dtype.is_numeric:
        raise TypeError(f"rate '{rate.name}' must be numeric, got {rate.dtype.name}")
    return [(_concat_shapes(_infer_shape_input(op), rate.shape.as_tuple()), op.attrs["dtype"])]


def _poisson_kernel(ctx, shape, rate):
    rng = ctx.state.rng_for(ctx.op)
    lam = np.broadcast_to(rate.astype(np.float64), _dims(shape) + rate.shape)
    if np.any(lam < 0):
        raise ValueError("random_poisson: rates must be >= 0")
    return rng.poisson(lam).astype(ctx.attrs["dtype"].np)


define_op("RandomPoissonV2", infer=_infer_poisson, kernel=_poisson_kernel, not_differentiable=True, stateful=True)


def random_poisson(lam, shape, dtype=dtypes.float32, seed=None, name=None):
    """Samples of shape ``shape + shape(lam)`` from Poisson distributions with rates ``lam``."""
    dtype = _check_dtype(dtype, _FLOATS + _INTS, "random_poisson")
    with name_scope(name, "random_poisson", [lam, shape]):
        shape_tensor = _shape_tensor(shape)
        lam = convert_to_tensor(lam, name="lam")
        attrs = {"dtype": dtype, **_seed_attrs(seed)}
        return make_op("RandomPoissonV2", [shape_tensor, lam], attrs, name="RandomPoissonV2").outputs[0]
