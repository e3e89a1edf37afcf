"""A minimal Qt-free signal, so the scene model can announce changes to any listener.

The renderer and the Qt panels subscribe; headless code and tests can too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    """Callbacks called in connection order with the emitted arguments."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Callable[..., Any]] = []
        self._blocked = False

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        if slot not in self._slots:
            self._slots.append(slot)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        for slot in list(self._slots):
            slot(*args)

    def blocked(self) -> _Blocker:
        """Context manager that silences this signal (for syncing without loops)."""
        return _Blocker(self)

    def __len__(self) -> int:
        return len(self._slots)


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
