"""How a widget listens to the model: through bound methods that stop with the widget.

The model's signals (:mod:`viewer.model.events`) hold a bound method by weak reference, so a panel that
Python drops stops listening by itself; a lambda capturing the panel would keep it (and its redraws)
alive for as long as the model lives. Qt may delete a widget's C++ side before Python drops the wrapper
(a closed window's children): :func:`while_alive` makes such a listener do nothing then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6

Method = TypeVar("Method", bound=Callable[..., Any])


def while_alive(method: Method) -> Method:
    """Decorate a widget's model listener so it does nothing once Qt has deleted the widget."""

    @functools.wraps(method)
    def listener(self, *args: Any) -> Any:
        if shiboken6.isValid(self):
            return method(self, *args)
        return None

    return listener  # type: ignore[return-value]
