"""What the window remembers between runs: layout, last folder, recent files, language, body, text size.

:class:`WindowSettings` wraps a ``QSettings`` (the application's own, or one on a temporary file in
tests). Without one the window remembers nothing beyond this run (:class:`MemoryStore`), so tests and
``--screenshot`` never read or change a user's settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

RECENT_LIMIT = 8
ORGANISATION = "glute-viewer"
APPLICATION = "Glute Viewer"


class MemoryStore:
    """The part of the ``QSettings`` interface the window uses, kept in memory only."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def value(self, key: str, default: Any = None) -> Any:
        """The value kept for ``key``, or ``default``."""
        return self._values.get(key, default)

    def setValue(self, key: str, value: Any) -> None:
        """Keep ``value`` for ``key`` (in memory only)."""
        self._values[key] = value

    def remove(self, key: str) -> None:
        """Forget ``key``."""
        self._values.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._values.clear()

    def sync(self) -> None:
        """Nothing to write: the store lives in memory."""
        pass


def user_settings() -> QSettings:
    """The settings of this user (INI file in the platform's config folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


class WindowSettings:
    """Typed access to the remembered values (QSettings stores strings; lists may come back as one string)."""

    def __init__(self, store: QSettings | MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    # --- files ---------------------------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        """Recently opened or saved scene and lesson files, newest first, those that still exist."""
        value = self.store.value("files/recent", [])
        entries = [value] if isinstance(value, str) else list(value or [])
        return [Path(entry) for entry in entries if entry and Path(entry).is_file()]

    def add_recent(self, path: Path) -> None:
        """Put ``path`` first in the recent files and remember its folder."""
        path = Path(path).resolve()
        others = [p for p in self.recent_files() if p.resolve() != path]
        self.store.setValue("files/recent", [str(p) for p in [path, *others][:RECENT_LIMIT]])
        self.store.setValue("files/last_folder", str(path.parent))

    def last_folder(self) -> str:
        """The folder of the last file opened or saved (home when gone)."""
        folder = str(self.store.value("files/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    # --- choices -------------------------------------------------------------------------------
    def text(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        """The remembered text at ``key`` if it is one of ``allowed``, else ``default``."""
        value = str(self.store.value(key, default) or default)
        return value if value in allowed else default

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """The remembered number at ``key`` within ``low``..``high``, else ``default``."""
        try:
            value = float(self.store.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(max(value, low), high)

    def set(self, key: str, value: Any) -> None:
        """Remember ``value`` at ``key``."""
        self.store.setValue(key, value)

    # --- window layout -------------------------------------------------------------------------
    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the window's geometry and dock layout (written at once)."""
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
        self.store.sync()

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The remembered geometry and dock layout, each None when missing or unreadable."""
        geometry, state = self.store.value("window/geometry"), self.store.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def clear(self) -> None:
        """Restore defaults: forget everything (the window re-applies its own start-up layout)."""
        self.store.clear()
        self.store.sync()
