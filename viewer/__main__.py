"""``python -m viewer``: the same entry point as the ``glute-viewer`` command."""

import sys

from viewer.cli import main

sys.exit(main())
