"""What a Session owns at run time: variable values and random generators."""

from __future__ import annotations

import numpy as np


class Uninitialized:
    """Stands for the value of a variable that has not been initialized yet."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<uninitialized variable {self.name}>"


class SessionState:
    """Variable values by variable op name, and one random generator per random op."""

    def __init__(self):
        self.variables: dict[str, np.ndarray] = {}
        self._rngs: dict[str, np.random.Generator] = {}

    def read_variable(self, name: str):
        """The variable's value, or an ``Uninitialized`` marker."""
        value = self.variables.get(name)
        return Uninitialized(name) if value is None else value

    def rng_for(self, op) -> np.random.Generator:
        """The generator of random op ``op`` in this session.

        A seeded op (attrs ``seed``/``seed2`` not both 0) starts from the same state in
        every session and advances on each run, as TF1's seeded ops do; an unseeded op
        starts from fresh entropy.
        """
        rng = self._rngs.get(op.name)
        if rng is None:
            seed, seed2 = op.attrs.get("seed", 0), op.attrs.get("seed2", 0)
            if seed or seed2:
                rng = np.random.Generator(np.random.Philox(key=[seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF]))
            else:
                rng = np.random.default_rng()
            self._rngs[op.name] = rng
        return rng
