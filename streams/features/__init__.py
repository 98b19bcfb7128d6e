"""Pure online-feature computations, one module per feature view, applied per event.

Each view module has a ``State`` (plain data, JSON-able through ``to_dict``/``from_dict``)
and ``apply(state, event, *, allowed_lateness) -> Update``; :mod:`streams.features.reference`
recomputes the same rows from whole event lists, to check them.
"""
