"""TF1's public namespace over graphdl's API: what ``graphdl.compat.v1`` exposes.

A TF1 graph-mode script runs after changing ``import tensorflow as tf`` to
``import graphdl.compat.v1 as tf``. Every graphdl name is available under its TF1 name;
TF2 switches that graph-mode scripts call (``disable_v2_behavior``...) are accepted and do
nothing, since graphdl only has graph mode. A TF1 name graphdl does not provide yet raises
an error naming it where the script uses it.
"""

from __future__ import annotations

import logging as _python_logging
from types import SimpleNamespace

import graphdl as _graphdl
from graphdl.framework.tensor_shape import dimension_value
from graphdl.frontends.tf1 import app as _app

# Namespaces and functions of TF1 that graphdl does not provide yet, with what to use instead.
NOT_YET_SUPPORTED = {
    "estimator": "tf.estimator is not supported",
    "keras": "tf.keras is not supported; graphdl follows TF1's graph API",
    "saved_model": "tf.saved_model is not supported yet",
}


class UnsupportedTF1Name(AttributeError, NotImplementedError):
    """A TF1 name that graphdl.compat.v1 does not provide (yet)."""


def unsupported(name: str):
    """Raise the error for TF1 name ``name``."""
    reason = NOT_YET_SUPPORTED.get(name, "it is not part of graphdl's TF1 API")
    raise UnsupportedTF1Name(f"graphdl.compat.v1 does not provide tf.{name}: {reason}.")


def disable_v2_behavior():
    """Accepted for TF1 scripts; graphdl is always in TF1 graph mode."""


def disable_eager_execution():
    """Accepted for TF1 scripts; graphdl has no eager mode."""


def enable_v2_behavior():
    raise UnsupportedTF1Name("graphdl.compat.v1 is TF1 graph mode only: tf.enable_v2_behavior is not available.")


def enable_eager_execution(*args, **kwargs):
    raise UnsupportedTF1Name("graphdl has no eager mode: build a graph and run it in a tf.Session.")


def executing_eagerly() -> bool:
    """Always False: graphdl runs graphs in sessions."""
    return False


def _make_logging():
    logger = _python_logging.getLogger("graphdl")
    # As TF1's tf_logging: messages go to stderr as "INFO:graphdl:..." once set_verbosity lets them through,
    # unless the application configured logging itself (then its handlers print them; no doubled lines).
    if not _python_logging.getLogger().handlers and not logger.handlers:
        handler = _python_logging.StreamHandler()
        handler.setFormatter(_python_logging.Formatter(_python_logging.BASIC_FORMAT))
        logger.addHandler(handler)
    return SimpleNamespace(
        DEBUG=_python_logging.DEBUG, INFO=_python_logging.INFO, WARN=_python_logging.WARNING,
        ERROR=_python_logging.ERROR, FATAL=_python_logging.CRITICAL,
        set_verbosity=logger.setLevel, get_verbosity=logger.getEffectiveLevel,
        debug=logger.debug, info=logger.info, warn=logger.warning, warning=logger.warning,
        error=logger.error, fatal=logger.critical, log=logger.log,
    )


logging = _make_logging()

NodeDef = SimpleNamespace  # type of Operation.node_def


def public_names() -> dict:
    """graphdl's public names plus the TF1-only additions of this module."""
    names = {k: v for k, v in vars(_graphdl).items() if not k.startswith("_")}
    names.update(
        disable_v2_behavior=disable_v2_behavior, disable_eager_execution=disable_eager_execution,
        enable_v2_behavior=enable_v2_behavior, enable_eager_execution=enable_eager_execution,
        executing_eagerly=executing_eagerly, logging=logging, NodeDef=NodeDef,
        dimension_value=dimension_value, compat=SimpleNamespace(dimension_value=dimension_value),
        app=_app, flags=_app.flags,
    )
    return names
