"""Command line: open the window, or work headless (``inspect``, ``export``, ``handout``, ``techniques``...).

``glute-viewer`` and ``python -m viewer`` share :func:`main`. One module a job: ``parsing`` (the words),
``errors`` (one-line errors and exit codes), ``output`` (results printed), ``scene_setup`` (the scene a command
works on), one module per command (``inspect_scene``, ``export``, ``handout``, ``techniques``, ``probe``,
``quiz``, ``lessons``), ``window`` (start-up checks, then the UI imported lazily) and ``entry`` (dispatch).
The headless commands never import Qt.
"""

from viewer.cli.entry import main

__all__ = ["main"]
