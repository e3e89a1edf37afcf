"""Numbers as a student reads them: signed percentages without a "−0.0%"."""

from __future__ import annotations

MINUS = "\u2212"  # a real minus sign, as printed in the anatomy texts


def signed_percent(fraction: float, decimals: int = 1) -> str:
    """``0.153`` -> ``"+15.3%"``, ``-0.0004`` -> ``"0.0%"`` (no sign on a value that rounds to zero).

    Parameters
    ----------
    fraction : float
        A change as a fraction (0.1 = 10% longer).
    decimals : int
        Digits after the decimal point.
    """
    text = f"{abs(100.0 * fraction):.{decimals}f}"
    if float(text) == 0.0:
        return f"{text}%"
    return f"{'+' if fraction > 0 else MINUS}{text}%"


__all__ = ["MINUS", "signed_percent"]
