"""TF1's API: ``import graphdl.compat.v1 as tf`` in place of ``import tensorflow as tf``.

The names come from ``graphdl.frontends.tf1``; a TF1 name graphdl does not provide yet raises
an error naming it where the script uses it.
"""

from graphdl.frontends import tf1 as _tf1

globals().update(_tf1.public_names())


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    _tf1.unsupported(name)
