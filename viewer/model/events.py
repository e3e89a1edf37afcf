"""A minimal Qt-free signal, so the scene model can announce changes to any listener.

The renderer and the Qt panels subscribe; headless code and tests can too.
Like Qt's own signals, one failing listener does not silence the others: the
exception is logged with the signal and slot names and the remaining slots run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class Signal:
    """Callbacks called in connection order with the emitted arguments.

    ``errors`` keeps the exceptions raised by slots in the last emit (empty when all ran cleanly).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Callable[..., Any]] = []
        self._blocked = False
        self.errors: list[BaseException] = []

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        if slot not in self._slots:
            self._slots.append(slot)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        """Call every slot; a slot that raises is logged and the rest still run."""
        if self._blocked:
            return
        self.errors = []
        for slot in list(self._slots):
            try:
                slot(*args)
            except Exception as error:  # one listener must not silence the others
                self.errors.append(error)
                log.exception("signal %r: slot %s raised", self.name or "?", _slot_name(slot))

    def blocked(self) -> _Blocker:
        """Context manager that silences this signal (for syncing without loops)."""
        return _Blocker(self)

    def __len__(self) -> int:
        return len(self._slots)


def _slot_name(slot: Callable[..., Any]) -> str:
    """``InfoPanel._on_selection`` or ``<lambda> in viewer/ui/lengths_panel.py:40``, for the log."""
    name = getattr(slot, "__qualname__", None) or repr(slot)
    code = getattr(slot, "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code is not None else name


class _Blocker:
    def __init__(self, signal: Signal) -> None:
        self._signal = signal
        self._previous = False

    def __enter__(self) -> Signal:
        self._previous = self._signal._blocked
        self._signal._blocked = True
        return self._signal

    def __exit__(self, *exc: object) -> None:
        self._signal._blocked = self._previous


@contextmanager
def temporary_listeners(*owners: object) -> Iterator[None]:
    """Disconnect, at the end of the block, every slot connected inside it to the ``owners``' signals.

    A throw-away view (an off-screen export drawn in the running window) listens to the model while it
    draws; afterwards it must not keep redrawing a closed plotter on every change.
    """
    signals = [value for owner in owners if owner is not None for value in vars(owner).values()
               if isinstance(value, Signal)]  # fmt: skip
    before = [list(signal._slots) for signal in signals]
    try:
        yield
    finally:
        for signal, kept in zip(signals, before, strict=True):
            signal._slots = [slot for slot in signal._slots if slot in kept]
