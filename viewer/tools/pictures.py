"""Regenerate the README pictures with the app's own export and window screenshot.

Run ``python -m viewer.tools.pictures`` (the window picture needs a display,
e.g. ``xvfb-run -a python -m viewer.tools.pictures``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from viewer.anatomy.body_skin import BODIES

PICTURES = {
    "posterior.png": ["--view", "posterior", "--peel", "1"],
    "lateral.png": ["--view", "right", "--peel", "1"],
    "posterolateral.png": ["--view", "posterolateral_right", "--peel", "1", "--labels"],
    "skin.png": ["--view", "posterolateral_right", "--landmarks"],
    "deep_layer.png": ["--view", "posterior", "--peel", "3", "--ghost", "--labels"],
    "stretch_flexion.png": [
        "--view",
        "right",
        "--peel",
        "1",
        "--pose",
        "hip_flexion=90",
        "--side",
        "right",
        "--color-by",
        "stretch",
    ],
    "stretch_rotation.png": [
        "--view",
        "posterior",
        "--peel",
        "3",
        "--pose",
        "hip_rotation=40",
        "--side",
        "right",
        "--color-by",
        "stretch",
    ],
    "technique_prone.png": ["--view", "posterolateral_right", "--technique", "rotators_prone_knee90"],
    "skin_male.png": ["--view", "posterior", "--body", "male", "--landmarks"],
    "skin_flexion.png": ["--view", "right", "--pose", "hip_flexion=90,knee_flexion=90", "--side", "right"],
    "skin_male_flexion.png": [
        *("--view", "posterolateral_right", "--body", "male"),
        *("--pose", "hip_flexion=90,knee_flexion=90", "--side", "right"),
    ],
    "section_transverse.png": ["--section", "transverse@y=-90", "--labels"],
    **{  # the body surface itself, opaque, for both body types: the forms a massage teacher points at
        f"body_{body}_{name}.png": ["--body", body, "--opacity", "skin=1", "--size", "800x700", *options]
        for body in BODIES
        for name, options in {
            "posterior": ["--view", "posterior"],
            "lateral": ["--view", "right"],
            "posterolateral": ["--view", "posterolateral_right"],
            "flexion": ["--view", "right", "--pose", "hip_flexion=90,knee_flexion=90", "--side", "right"],
        }.items()
    },
    "latin.png": ["--view", "posterolateral_right", "--peel", "3", "--labels", "--language", "latin"],
}


def main(argv: list[str] | None = None) -> int:
    """Export every README picture into ``argv[0]`` (default ``assets/screenshots``); the exit code."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for name, options in PICTURES.items():
        size = ["--size", "1600x1100"]  # unless the picture gives its own (the last --size counts)
        command = [sys.executable, "-m", "viewer", "export", *size, *options, "--out", str(out / name)]
        subprocess.run(command, check=True)
    subprocess.run(
        [sys.executable, "-m", "viewer", "--screenshot", str(out / "window.png"), "--size", "1700x1050"], check=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
