""""Same leg pose as last time": the last value each leg's stage computed, kept while its inputs stay the same.

A pose update moves one leg as often as both (a slider of the right leg, the other held). Each deformer's stage
(the pose-space lookup, the forms carried by their cages, the nerves, the skin's correction) keeps the last result
of every leg and hands it back, the very same objects, while what the stage reads for that leg is exactly as
before; the moved leg alone is computed again. One memo serves them all (numpy only).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import numpy as np

Value = TypeVar("Value")


def _frozen(value: Any) -> Any:
    """``value`` as kept for comparing later: arrays copied (a caller changing its array in place cannot make a
    stale result look current), sequences element by element."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return tuple(_frozen(item) for item in value)
    return value


def same_inputs(kept: Any, given: Any) -> bool:
    """Whether ``given`` is exactly ``kept``: arrays of the same dtype, shape and values (a NaN never matches),
    sequences element by element, anything else by ``==`` and type.

    Parameters
    ----------
    kept
        Inputs as the memo keeps them (see :func:`_frozen`).
    given
        Inputs of the current call: arrays of any shape, numbers, ``None``, dataclasses, and tuples or lists of
        those.
    """
    if isinstance(kept, np.ndarray) or isinstance(given, np.ndarray):
        return (
            isinstance(kept, np.ndarray)
            and isinstance(given, np.ndarray)
            and kept.dtype == given.dtype
            and kept.shape == given.shape
            and bool(np.array_equal(kept, given))
        )
    if isinstance(kept, tuple) and isinstance(given, (tuple, list)):
        return len(kept) == len(given) and all(same_inputs(a, b) for a, b in zip(kept, given, strict=True))
    return type(kept) is type(given) and bool(kept == given)


class LegMemo(Generic[Value]):
    """The last value computed for each leg, handed back while the leg's inputs stay exactly the same.

    Each leg (any hashable: ``"right"``, a nerve's name) keeps one entry: its inputs and the value computed from
    them. A call with other inputs computes and replaces the entry; the legs are independent of each other.
    """

    def __init__(self) -> None:
        self._last: dict[Hashable, tuple[Any, Value]] = {}

    def holds(self, leg: Hashable, inputs: Any) -> bool:
        """Whether the value kept for ``leg`` was computed from exactly ``inputs``."""
        entry = self._last.get(leg)
        return entry is not None and same_inputs(entry[0], inputs)

    def store(self, leg: Hashable, inputs: Any, value: Value) -> Value:
        """Keep ``value`` as ``leg``'s result for ``inputs`` (replacing what it had) and return it."""
        self._last[leg] = (_frozen(inputs), value)
        return value

    def last(self, leg: Hashable) -> Value:
        """The value kept for ``leg`` (a KeyError if none was stored)."""
        return self._last[leg][1]

    def get(self, leg: Hashable, inputs: Any, compute: Callable[[], Value]) -> Value:
        """``leg``'s value for ``inputs``: the kept one when they are the same as last time, else ``compute()``
        (then kept)."""
        if self.holds(leg, inputs):
            return self.last(leg)
        return self.store(leg, inputs, compute())

    def forget(self) -> None:
        """Drop every leg's value (the next call of each computes)."""
        self._last.clear()


__all__ = ["LegMemo", "same_inputs"]
