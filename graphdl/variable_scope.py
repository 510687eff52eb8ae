"""TF1's variable sharing: ``variable_scope``, ``get_variable`` and ``VariableScope``.

Variables made by ``get_variable`` are stored per graph under their full name
(``"<variable scope>/<name>"``), so a second ``get_variable`` of the same name inside a
reusing scope returns the same Variable. Variable names depend only on variable scopes;
the name scope that ``variable_scope`` also opens names the other ops.
"""

from __future__ import annotations

import enum
import functools
import inspect
import threading

from graphdl import dtypes
from graphdl.framework.graph import GraphKeys, get_default_graph
from graphdl.framework.operation import Tensor
from graphdl.framework.ops import graph_of, python_value_to_numpy
from graphdl.framework.tensor_shape import as_shape
from graphdl.variables import Variable

__all__ = [
    "AUTO_REUSE", "VariableScope", "get_local_variable", "get_variable", "get_variable_scope", "no_regularizer",
    "variable_scope",
]


class _ReuseMode(enum.Enum):
    """Reuse modes beyond True/None: ``AUTO_REUSE`` creates missing variables and reuses existing ones."""

    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


def no_regularizer(_):
    """A regularizer that regularizes nothing; pass it to exempt a variable from a scope's regularizer."""
    del _


# -- the per-graph store of variables ---------------------------------------------------
class _VariableStore:
    """The variables ``get_variable`` created in a graph, by full name (kept in ``graph._variable_store``)."""

    def __init__(self, graph):
        self._graph = graph

    @property
    def _vars(self) -> dict:
        return self._graph._variable_store

    def get_variable(
        self, name, shape=None, dtype=dtypes.float32, initializer=None, regularizer=None, reuse=None, trainable=None,
        collections=None, caching_device=None, partitioner=None, validate_shape=True, use_resource=None,
        custom_getter=None, constraint=None, synchronization=None, aggregation=None,
    ):
        """Get the existing variable ``name`` or create it, honouring ``reuse`` (see ``get_variable``)."""
        if custom_getter is not None and not callable(custom_getter):
            raise ValueError(f"Passed a custom_getter which is not callable: {custom_getter!r}")
        dtype = getattr(dtype, "base_dtype", dtype)
        if trainable is None:
            trainable = True

        def true_getter(
            name, shape=None, dtype=dtypes.float32, initializer=None, regularizer=None, reuse=None, trainable=None,
            collections=None, caching_device=None, partitioner=None, validate_shape=True, use_resource=None,
            constraint=None, synchronization=None, aggregation=None,
        ):
            # graphdl runs on one device, so a partitioner's split is not needed: the variable is made whole.
            return self._get_single_variable(
                name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, reuse=reuse,
                trainable=trainable, collections=collections, caching_device=caching_device,
                validate_shape=validate_shape, use_resource=use_resource, constraint=constraint,
                synchronization=synchronization, aggregation=aggregation,
            )

        kwargs = {
            "name": name, "shape": shape, "dtype": dtype, "initializer": initializer, "regularizer": regularizer,
            "reuse": reuse, "trainable": trainable, "collections": collections, "caching_device": caching_device,
            "partitioner": partitioner, "validate_shape": validate_shape, "use_resource": use_resource,
            "synchronization": synchronization, "aggregation": aggregation,
        }
        if custom_getter is None:
            return true_getter(constraint=constraint, **kwargs)
        if _accepts_argument(custom_getter, "constraint"):
            kwargs["constraint"] = constraint
        return custom_getter(getter=true_getter, **kwargs)

    def _get_single_variable(
        self, name, shape=None, dtype=dtypes.float32, initializer=None, regularizer=None, reuse=None, trainable=None,
        collections=None, caching_device=None, validate_shape=True, use_resource=None, constraint=None,
        synchronization=None, aggregation=None,
    ):
        initializing_from_value = initializer is not None and not callable(initializer)
        if shape is not None and initializing_from_value:
            raise ValueError(
                f"If initializer is a constant, do not specify shape (variable {name}): "
                "the shape is taken from the initial value."
            )
        dtype = dtypes.as_dtype(dtype)
        shape = as_shape(shape)

        if name in self._vars:
            found = self._vars[name]
            if reuse is False:
                raise ValueError(
                    f"Variable {name} already exists, disallowed. Did you mean to set reuse=True or "
                    "reuse=tf.AUTO_REUSE in VarScope?"
                )
            if not shape.is_compatible_with(found.get_shape()):
                raise ValueError(
                    f"Trying to share variable {name}, but specified shape {shape} and found shape {found.get_shape()}."
                )
            if not dtype.is_compatible_with(found.dtype):
                raise ValueError(
                    f"Trying to share variable {name}, but specified dtype {dtype.name} and found dtype "
                    f"{found.dtype.name}."
                )
            return found

        if reuse is True:
            raise ValueError(
                f"Variable {name} does not exist, or was not created with tf.get_variable(). Did you mean to set "
                "reuse=tf.AUTO_REUSE in VarScope?"
            )

        if initializer is None:
            initializer = _default_initializer(name, dtype)
        if initializing_from_value:
            init_val, variable_dtype = initializer, None
        else:
            if inspect.isclass(initializer):
                initializer = initializer()
            if shape.is_fully_defined():
                dims = shape.as_list()
                init_val = functools.partial(_call_initializer, initializer, dims, dtype)
                variable_dtype = dtype.base_dtype
            elif _takes_no_required_arguments(initializer):
                init_val, variable_dtype = initializer, None
            else:
                raise ValueError(
                    f"The initializer passed for variable {name} is not valid. It should be a callable with no "
                    "arguments and the shape should not be provided, or an initializer such as "
                    f"tf.glorot_uniform_initializer() and `shape` should be fully defined (got shape {shape})."
                )

        graph = self._graph
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
            var = Variable(
                initial_value=init_val, name=_exact_variable_name(graph, name), trainable=trainable,
                collections=collections, caching_device=caching_device, dtype=variable_dtype,
                validate_shape=validate_shape, constraint=constraint, use_resource=use_resource,
                synchronization=synchronization, aggregation=aggregation,
            )
        self._vars[name] = var

        if regularizer:
            with graph.as_default(), graph.control_dependencies(None), graph.name_scope(name + "/Regularizer/"):
                loss = regularizer(var)
            if loss is not None:
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return var


def _call_initializer(initializer, shape, dtype):
    return initializer(shape, dtype=dtype, partition_info=None)


def _default_initializer(name, dtype):
    from graphdl import initializers

    if dtype.is_floating:
        return initializers.glorot_uniform_initializer()
    if dtype.is_integer or dtype.is_unsigned or dtype.is_bool or dtype == dtypes.string:
        return initializers.zeros_initializer()
    raise ValueError(f"An initializer for variable {name} of {dtype.base_dtype.name} is required")


def _exact_variable_name(graph, name):
    """The ``name`` argument making Variable's op exactly ``name`` when an op of that name does not exist.

    Name-scope uniquification (e.g. a name scope already called ``name``, or the same name
    in another capitalisation) would otherwise rename it ``name_1``; a trailing '/' makes
    the Variable use it as is.
    """
    taken = graph.unique_name(name, mark_as_used=False) != name
    if taken and name not in graph._ops_by_name:
        return name + "/"
    return name


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _takes_no_required_arguments(fn) -> bool:
    sig = _signature(fn)
    if sig is None:
        return False
    return all(
        p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in sig.parameters.values()
    )


def _accepts_argument(fn, arg) -> bool:
    sig = _signature(fn)
    if sig is None:
        return False
    params = sig.parameters
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _value_dtype(value):
    """The dtype ``value`` converts to as a tensor, without adding ops to the graph."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        return value.dtype.base_dtype
    return dtypes.as_dtype(python_value_to_numpy(value).dtype)


# -- VariableScope ----------------------------------------------------------------------
class VariableScope:
    """The defaults ``get_variable`` applies inside a ``variable_scope``: name prefix, reuse, initializer...

    Get the current one with ``get_variable_scope()``; ``with variable_scope(scope_object):``
    re-enters it.
    """

    def __init__(
        self, reuse, name="", initializer=None, regularizer=None, caching_device=None, partitioner=None,
        custom_getter=None, name_scope="", dtype=dtypes.float32, use_resource=None, constraint=None,
    ):
        self._name = name
        self._initializer = initializer
        self._regularizer = regularizer
        self._reuse = reuse
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint

    name = property(lambda self: self._name, doc="The scope's name, e.g. 'foo/bar' ('' at the root).")
    original_name_scope = property(
        lambda self: self._name_scope, doc="The name scope (ending in '/') opened when this scope was first entered."
    )
    reuse = property(lambda self: self._reuse, doc="True, False/None or AUTO_REUSE.")
    initializer = property(lambda self: self._initializer, doc="Default initializer of new variables.")
    dtype = property(lambda self: self._dtype, doc="Default dtype of new variables.")
    use_resource = property(lambda self: self._use_resource)
    regularizer = property(lambda self: self._regularizer, doc="Default regularizer of new variables.")
    caching_device = property(lambda self: self._caching_device)
    partitioner = property(lambda self: self._partitioner)
    custom_getter = property(lambda self: self._custom_getter, doc="The getter get_variable calls, or None.")
    constraint = property(lambda self: self._constraint)

    def reuse_variables(self):
        """Make ``get_variable`` in this scope return existing variables from now on."""
        self._reuse = True

    def set_initializer(self, initializer):
        """Set the default initializer of variables created in this scope."""
        self._initializer = initializer

    def set_dtype(self, dtype):
        """Set the default dtype of variables created in this scope."""
        self._dtype = dtype

    def set_use_resource(self, use_resource):
        """Record the use_resource default (graphdl has one kind of variable)."""
        self._use_resource = use_resource

    def set_regularizer(self, regularizer):
        """Set the default regularizer of variables created in this scope."""
        self._regularizer = regularizer

    def set_caching_device(self, caching_device):
        """Set the default caching device of variables created in this scope."""
        self._caching_device = caching_device

    def set_partitioner(self, partitioner):
        """Set the default partitioner of variables created in this scope."""
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter):
        """Set the custom getter ``get_variable`` calls in this scope."""
        self._custom_getter = custom_getter

    def get_collection(self, name):
        """The items of collection ``name`` whose names start with this scope's name."""
        scope = self._name + "/" if self._name else ""
        return get_default_graph().get_collection(name, scope)

    def trainable_variables(self):
        """Trainable variables created in this scope."""
        return self.get_collection(GraphKeys.TRAINABLE_VARIABLES)

    def global_variables(self):
        """Global variables created in this scope."""
        return self.get_collection(GraphKeys.GLOBAL_VARIABLES)

    def local_variables(self):
        """Local variables created in this scope."""
        return self.get_collection(GraphKeys.LOCAL_VARIABLES)

    def get_variable(
        self, var_store, name, shape=None, dtype=None, initializer=None, regularizer=None, reuse=None,
        trainable=None, collections=None, caching_device=None, partitioner=None, validate_shape=True,
        use_resource=None, custom_getter=None, constraint=None, synchronization=None, aggregation=None,
    ):
        """Get or create variable ``name`` in ``var_store`` with this scope's defaults for unset arguments."""
        if regularizer is None:
            regularizer = self._regularizer
        if caching_device is None:
            caching_device = self._caching_device
        if partitioner is None:
            partitioner = self._partitioner
        if custom_getter is None:
            custom_getter = self._custom_getter
        if reuse is None:
            reuse = self._reuse
        if use_resource is None:
            use_resource = self._use_resource

        full_name = self.name + "/" + name if self.name else name
        if dtype is not None and initializer is not None and not callable(initializer):
            init_dtype = _value_dtype(initializer)
            if init_dtype != dtypes.as_dtype(dtype):
                raise ValueError(
                    f"Initializer type '{init_dtype.name}' and explicit dtype '{dtypes.as_dtype(dtype).name}' "
                    f"don't match (variable {full_name})."
                )
        if initializer is None:
            initializer = self._initializer
        if constraint is None:
            constraint = self._constraint
        if dtype is None:
            dtype = self._dtype
        # Variable names depend only on variable scopes: like TF, leave the name scope for the creation.
        with get_default_graph().name_scope(None):
            return var_store.get_variable(
                full_name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, reuse=reuse,
                trainable=trainable, collections=collections, caching_device=caching_device, partitioner=partitioner,
                validate_shape=validate_shape, use_resource=use_resource, custom_getter=custom_getter,
                constraint=constraint, synchronization=synchronization, aggregation=aggregation,
            )

    def __repr__(self):
        return f"<graphdl.VariableScope '{self._name}' reuse={self._reuse}>"


class _VariableScopeStore(threading.local):
    """The current VariableScope and how often each scope name was opened (kept in ``graph._variable_scope``)."""

    def __init__(self):
        super().__init__()
        self.current_scope = VariableScope(False)
        self.variable_scopes_count: dict[str, int] = {}

    def open_variable_scope(self, scope_name):
        self.variable_scopes_count[scope_name] = self.variable_scopes_count.get(scope_name, 0) + 1

    def close_variable_subscopes(self, scope_name):
        for k in list(self.variable_scopes_count):
            if scope_name is None or k.startswith(scope_name + "/"):
                self.variable_scopes_count[k] = 0

    def variable_scope_count(self, scope_name):
        return self.variable_scopes_count.get(scope_name, 0)


def _get_variable_scope_store(graph=None) -> _VariableScopeStore:
    graph = graph or get_default_graph()
    if graph._variable_scope is None:
        graph._variable_scope = _VariableScopeStore()
    return graph._variable_scope


def _get_default_variable_store() -> _VariableStore:
    return _VariableStore(get_default_graph())


def get_variable_scope() -> VariableScope:
    """The current VariableScope of the default graph."""
    return _get_variable_scope_store().current_scope


def _get_unique_variable_scope(prefix):
    """``prefix``, or ``prefix_N``, unused as a sub-scope name of the current variable scope."""
    store = _get_variable_scope_store()
    current = store.current_scope
    name = current.name + "/" + prefix if current.name else prefix
    if store.variable_scope_count(name) == 0:
        return prefix
    idx = 1
    while store.variable_scope_count(f"{name}_{idx}") > 0:
        idx += 1
    return f"{prefix}_{idx}"


def _maybe_wrap_custom_getter(custom_getter, old_getter):
    """Compose custom getters: the inner scope's getter receives the outer one (bound to the real getter)."""
    if old_getter is None:
        return custom_getter

    def wrapped(getter, *args, **kwargs):
        return custom_getter(functools.partial(old_getter, getter), *args, **kwargs)

    return wrapped


class _pure_variable_scope:
    """Enters a VariableScope without touching name scopes."""

    def __init__(
        self, name_or_scope, reuse=None, initializer=None, regularizer=None, caching_device=None, partitioner=None,
        custom_getter=None, old_name_scope=None, dtype=dtypes.float32, use_resource=None, constraint=None,
    ):
        self._name_or_scope = name_or_scope
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._old_name_scope = old_name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint
        self._var_scope_store = _get_variable_scope_store()
        self._last_variable_scope_object = None
        if isinstance(name_or_scope, VariableScope):
            self._new_name = name_or_scope.name
            # Jumping to a captured scope: a copy of it, with the overrides the caller asked for.
            scope = VariableScope(
                name_or_scope.reuse if not reuse else reuse, name=self._new_name,
                initializer=name_or_scope.initializer, regularizer=name_or_scope.regularizer,
                caching_device=name_or_scope.caching_device, partitioner=name_or_scope.partitioner,
                dtype=name_or_scope.dtype, custom_getter=name_or_scope.custom_getter,
                name_scope=name_or_scope.original_name_scope, use_resource=name_or_scope.use_resource,
                constraint=constraint,
            )
            self._apply_overrides(scope, name_or_scope.custom_getter)
            self._cached_variable_scope_object = scope

    def _apply_overrides(self, scope, old_custom_getter):
        if self._initializer is not None:
            scope.set_initializer(self._initializer)
        if self._regularizer is not None:
            scope.set_regularizer(self._regularizer)
        if self._caching_device is not None:
            scope.set_caching_device(self._caching_device)
        if self._partitioner is not None:
            scope.set_partitioner(self._partitioner)
        if self._custom_getter is not None:
            scope.set_custom_getter(_maybe_wrap_custom_getter(self._custom_getter, old_custom_getter))
        if self._dtype is not None:
            scope.set_dtype(self._dtype)
        if self._use_resource is not None:
            scope.set_use_resource(self._use_resource)

    def __enter__(self):
        store = self._var_scope_store
        self._old = store.current_scope
        if isinstance(self._name_or_scope, VariableScope):
            store.open_variable_scope(self._new_name)
            self._old_subscopes = dict(store.variable_scopes_count)
            scope = self._cached_variable_scope_object
        else:
            old = self._old
            self._new_name = old.name + "/" + self._name_or_scope if old.name else self._name_or_scope
            self._reuse = self._reuse or old.reuse  # reuse is inherited by sub-scopes
            name_scope = self._name_or_scope if self._old_name_scope is None else self._old_name_scope
            scope = VariableScope(
                self._reuse, name=self._new_name, initializer=old.initializer, regularizer=old.regularizer,
                caching_device=old.caching_device, partitioner=old.partitioner, dtype=old.dtype,
                use_resource=old.use_resource, custom_getter=old.custom_getter, name_scope=name_scope,
                constraint=self._constraint,
            )
            self._apply_overrides(scope, old.custom_getter)
            store.open_variable_scope(self._new_name)
        store.current_scope = scope
        self._last_variable_scope_object = scope
        return scope

    def __exit__(self, exc_type, exc_value, tb):
        store = self._var_scope_store
        if store.current_scope is not self._last_variable_scope_object:
            raise RuntimeError("Improper nesting of variable_scope.")
        if isinstance(self._name_or_scope, VariableScope):
            store.variable_scopes_count = self._old_subscopes
        else:
            store.close_variable_subscopes(self._new_name)
        store.current_scope = self._old


class variable_scope:
    """Context manager opening a variable scope (and a name scope); yields its ``VariableScope``.

    ``with variable_scope("foo"):`` prefixes ``get_variable`` names with ``foo/`` and op
    names with a unique ``foo/`` name scope (``foo_1/`` when re-entered). ``reuse=True``
    (inherited by nested scopes) makes ``get_variable`` return existing variables and
    ``reuse=AUTO_REUSE`` creates them when missing. With ``name_or_scope=None``,
    ``default_name`` is made unique (``dense``, ``dense_1``...). A VariableScope object
    re-enters that scope.
    """

    def __init__(
        self, name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
        caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None, use_resource=None,
        constraint=None, auxiliary_name_scope=True,
    ):
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._values = values
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._reuse = reuse
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint
        self._auxiliary_name_scope = auxiliary_name_scope
        if default_name is None and name_or_scope is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if self._reuse is False:
            self._reuse = None  # scopes never turn reuse off for their sub-scopes; False means "inherit"
        if not (self._reuse is True or self._reuse is None or self._reuse is AUTO_REUSE):
            raise ValueError("The reuse parameter must be True or False or None.")
        if custom_getter is not None and not callable(custom_getter):
            raise ValueError(f"The custom_getter must be callable, got {custom_getter!r}")
        if not isinstance(auxiliary_name_scope, bool):
            raise TypeError(f"The auxiliary_name_scope must be `True` or `False`, while get {auxiliary_name_scope}")
        if name_or_scope is not None and not isinstance(name_or_scope, (VariableScope, str)):
            raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
        self._graph = graph_of(list(values) if values is not None else [])
        self._cached_pure_variable_scope = None
        self._name_scope_arg = None
        self._entered = []

    def _scope_kwargs(self):
        return {
            "initializer": self._initializer, "regularizer": self._regularizer, "caching_device": self._caching_device,
            "partitioner": self._partitioner, "custom_getter": self._custom_getter, "dtype": self._dtype,
            "use_resource": self._use_resource, "constraint": self._constraint,
        }

    def __enter__(self):
        graph_cm = self._graph.as_default()
        graph_cm.__enter__()
        name_cm = None
        try:
            if self._cached_pure_variable_scope is None:
                name_cm, pure = self._make_scopes()
            else:
                # Re-entering this same object: same variable scope, a fresh name scope.
                if self._name_scope_arg is not None:
                    name_cm = self._graph.name_scope(self._name_scope_arg)
                    name_cm.__enter__()
                pure = self._cached_pure_variable_scope
            scope = pure.__enter__()
        except BaseException:
            if name_cm is not None:
                name_cm.__exit__(None, None, None)
            graph_cm.__exit__(None, None, None)
            raise
        self._cached_pure_variable_scope = pure
        self._entered.append((graph_cm, name_cm))
        return scope

    def _make_scopes(self):
        """Enter the name scope and build the pure variable scope on first entry."""
        graph = self._graph
        if self._auxiliary_name_scope:
            ns_arg = None
        else:
            current = graph.get_name_scope()
            ns_arg = current + "/" if current else ""  # re-enter the current name scope
        if self._name_or_scope is not None:
            if isinstance(self._name_or_scope, str):
                scope_leaf = self._name_or_scope
            else:
                scope_leaf = self._name_or_scope.name.split("/")[-1]
            if not scope_leaf and ns_arg is None:
                # Entering the root variable scope: no name scope.
                return None, _pure_variable_scope(self._name_or_scope, reuse=self._reuse, **self._scope_kwargs())
            ns_arg = scope_leaf if ns_arg is None else ns_arg
            name_cm = graph.name_scope(ns_arg)
            name_scope = name_cm.__enter__()
            self._name_scope_arg = ns_arg
            if isinstance(self._name_or_scope, str):
                old_name_scope = name_scope
            else:
                old_name_scope = self._name_or_scope.original_name_scope
            try:
                pure = _pure_variable_scope(
                    self._name_or_scope, reuse=self._reuse, old_name_scope=old_name_scope, **self._scope_kwargs()
                )
            except BaseException:
                name_cm.__exit__(None, None, None)
                raise
            return name_cm, pure
        if self._reuse:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        ns_arg = self._default_name if ns_arg is None else ns_arg
        name_cm = graph.name_scope(ns_arg)
        name_scope = name_cm.__enter__()
        self._name_scope_arg = ns_arg
        try:
            unique_default_name = _get_unique_variable_scope(self._default_name)
            pure = _pure_variable_scope(unique_default_name, old_name_scope=name_scope, **self._scope_kwargs())
        except BaseException:
            name_cm.__exit__(None, None, None)
            raise
        return name_cm, pure

    def __exit__(self, exc_type, exc_value, tb):
        graph_cm, name_cm = self._entered.pop()
        try:
            self._cached_pure_variable_scope.__exit__(exc_type, exc_value, tb)
        finally:
            try:
                if name_cm is not None:
                    name_cm.__exit__(None, None, None)
            finally:
                graph_cm.__exit__(None, None, None)
        return False


def get_variable(
    name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None, collections=None,
    caching_device=None, partitioner=None, validate_shape=True, use_resource=None, custom_getter=None,
    constraint=None, synchronization=None, aggregation=None,
):
    """Get the variable ``<current variable scope>/name``, creating it unless the scope reuses variables.

    In a non-reusing scope an existing name raises ValueError; with ``reuse=True`` a missing
    one does; ``AUTO_REUSE`` creates or returns. New variables are initialized by
    ``initializer`` (else the scope's, else Glorot-uniform for floats and zeros for
    ints/bools) called as ``initializer(shape, dtype=dtype, partition_info=None)``; a Tensor
    or Python/NumPy value is used as the initial value itself (then omit ``shape``).
    ``regularizer(variable)`` is added to the REGULARIZATION_LOSSES collection.
    """
    return get_variable_scope().get_variable(
        _get_default_variable_store(), name, shape=shape, dtype=dtype, initializer=initializer,
        regularizer=regularizer, trainable=trainable, collections=collections, caching_device=caching_device,
        partitioner=partitioner, validate_shape=validate_shape, use_resource=use_resource,
        custom_getter=custom_getter, constraint=constraint, synchronization=synchronization, aggregation=aggregation,
    )


def get_local_variable(
    name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=False, collections=None,
    caching_device=None, partitioner=None, validate_shape=True, use_resource=None, custom_getter=None,
    constraint=None, synchronization=None, aggregation=None,
):
    """``get_variable`` for a non-trainable variable in the LOCAL_VARIABLES collection."""
    collections = list(collections) + [GraphKeys.LOCAL_VARIABLES] if collections else [GraphKeys.LOCAL_VARIABLES]
    return get_variable(
        name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, trainable=False,
        collections=collections, caching_device=caching_device, partitioner=partitioner,
        validate_shape=validate_shape, use_resource=use_resource, custom_getter=custom_getter,
        constraint=constraint, synchronization=synchronization, aggregation=aggregation,
    )
