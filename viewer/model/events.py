"""Qt-free signals on psygnal, so the scene model can announce changes to any listener.

The renderer and the Qt panels subscribe; headless code and tests can too. Listeners that are bound
methods are held by weak reference: a view that is dropped (a closed export) stops listening by itself,
and :meth:`Signal.disconnect` (e.g. ``SceneView.close()``) disconnects at once. Like Qt's own signals,
one failing listener does not silence the others: the exception is logged with the signal and slot
names and the remaining slots run (psygnal itself would stop the loop at the first error).
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psygnal import SignalInstance

log = logging.getLogger(__name__)

ANY_ARGUMENTS = inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)])


def _key(slot: Callable[..., Any]) -> Any:
    """Identity of a slot: a bound method is the same slot each time it is looked up."""
    if inspect.ismethod(slot):
        return (id(slot.__self__), slot.__func__)
    return slot


class _GuardedSlot:
    """Calls one listener (weakly held if a bound method) and keeps its exception from the others."""

    def __init__(self, signal: Signal, slot: Callable[..., Any]) -> None:
        self.signal = signal
        self.key = _key(slot)
        self.name = _slot_name(slot)
        if inspect.ismethod(slot):
            self._ref: Callable[[], Callable[..., Any] | None] = weakref.WeakMethod(slot)
        else:
            self._ref = lambda: slot

    @property
    def alive(self) -> bool:
        return self._ref() is not None

    def __call__(self, *args: Any) -> None:
        slot = self._ref()
        if slot is None:  # its owner is gone
            self.signal._forget(self)
            return
        try:
            slot(*args)
        except Exception as error:  # one listener must not silence the others
            self.signal.errors.append(error)
            log.exception("signal %r: slot %s raised", self.signal.name or "?", self.name)


class Signal:
    """Callbacks called in connection order with the emitted arguments (a psygnal ``SignalInstance``).

    ``errors`` keeps the exceptions raised by slots in the last emit (empty when all ran cleanly).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._instance = SignalInstance(ANY_ARGUMENTS, name=name or None, check_nargs_on_connect=False)
        self._guards: dict[Any, _GuardedSlot] = {}
        self.errors: list[BaseException] = []

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``slot`` on every emit (a bound method weakly held); returns ``slot``, so it decorates."""
        key = _key(slot)
        if key not in self._guards or not self._guards[key].alive:
            self._forget_key(key)
            guard = _GuardedSlot(self, slot)
            self._guards[key] = guard
            self._instance.connect(guard, check_nargs=False)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        """Stop calling ``slot`` (nothing happens if it was not connected)."""
        self._forget_key(_key(slot))

    def _forget_key(self, key: Any) -> None:
        guard = self._guards.pop(key, None)
        if guard is not None:
            self._instance.disconnect(guard, missing_ok=True)

    def _forget(self, guard: _GuardedSlot) -> None:
        if self._guards.get(guard.key) is guard:
            self._forget_key(guard.key)

    def emit(self, *args: Any) -> None:
        """Call every slot; a slot that raises is logged and the rest still run."""
        self.errors = []
        self._instance.emit(*args)

    @contextmanager
    def blocked(self) -> Iterator[Signal]:
        """Context manager that silences this signal (for syncing without loops)."""
        with self._instance.blocked():
            yield self

    def __len__(self) -> int:
        """Listeners still connected (a dropped view's weakly held methods do not count)."""
        return sum(guard.alive for guard in self._guards.values())


def _slot_name(slot: Callable[..., Any]) -> str:
    """``InfoPanel._on_selection`` or ``<lambda> in viewer/ui/lengths_panel.py:40``, for the log."""
    name = getattr(slot, "__qualname__", None) or repr(slot)
    code = getattr(slot, "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code is not None else name


@contextmanager
def temporary_listeners(*owners: object) -> Iterator[None]:
    """Disconnect, at the end of the block, every slot connected inside it to the ``owners``' signals.

    A throw-away view (an off-screen export drawn in the running window) listens to the model while it
    draws; afterwards it must not keep redrawing a closed plotter on every change, even through a lambda
    (which no weak reference lets go).
    """
    signals = [value for owner in owners if owner is not None for value in vars(owner).values()
               if isinstance(value, Signal)]  # fmt: skip
    before = [set(signal._guards) for signal in signals]
    try:
        yield
    finally:
        for signal, kept in zip(signals, before, strict=True):
            for key in [key for key in signal._guards if key not in kept]:
                signal._forget_key(key)
