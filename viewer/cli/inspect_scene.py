"""``inspect``: what the scene holds (units, frame, pose, landmarks, structures), as text or JSON."""

from __future__ import annotations

import argparse

from viewer.cli.output import print_json, refuse_non_finite
from viewer.cli.scene_setup import posed_scene


def run_inspect(args: argparse.Namespace) -> int:
    """``inspect``: units, frame, pose, landmarks and structures, as text or JSON (``--json``)."""
    scene = posed_scene(args)
    report = scene.describe(include_fibres=args.fibres)
    report["pose"] = {
        "side": args.side,
        **scene.pose("left" if args.side == "left" else "right").as_dict(),
        **report["pose"],
    }
    if args.json:
        print_json(report)
        return 0
    refuse_non_finite(report)
    print(f"units: {report['units']}; frame: {report['frame']['name']}")
    print("pose: " + ", ".join(f"{k}={v:g}" for k, v in scene.pose("right").as_dict().items()))
    print(f"{len(report['landmarks'])} landmarks; structures:")
    for name, entry in report["structures"].items():
        length = f"{entry['length_mm']:7.1f} mm" if "length_mm" in entry else ""
        print(f"  {name:32s} {entry['kind']:7s} {entry['layer']:13s} {entry['volume_cm3']:8.1f} cm3 {length}")
    return 0
