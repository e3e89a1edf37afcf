"""``techniques``: every massage technique at its recommended pose, with its safety check."""

from __future__ import annotations

import argparse

from viewer.cli.errors import UsageError
from viewer.cli.output import print_json, refuse_non_finite
from viewer.cli.scene_setup import check_variant, technique_session


def _set_variant(scene, variant: str) -> None:
    scene.set_nerve_variant(check_variant(variant))


def _set_margin(scene, margin_mm: float | None) -> None:
    if margin_mm is not None:
        try:
            scene.set_danger_margin(margin_mm)
        except ValueError as error:
            raise UsageError(f"--danger-margin: {error}") from None


def run_techniques(args: argparse.Namespace) -> int:
    """Every technique at its recommended pose, with the safety check computed from the geometry."""
    from viewer.model.nerves import variant_choices
    from viewer.model.scene import build_scene

    scene = build_scene()
    if args.nerve_variant:
        _set_variant(scene, args.nerve_variant)
    _set_margin(scene, args.danger_margin)
    session = technique_session(scene)
    sides = ("right", "left") if args.side == "both" else (args.side,)
    listed = []
    for technique in session.techniques.values():
        checks = {}
        for side in sides:
            session.choose(technique.id, side)
            _geometry, report, _zones = session.result()
            checks[side] = {
                **report.summary(),
                "reaches_target": report.reaches_target,
                "crossings": [
                    {"structure": c.structure, "entry_mm": c.entry_mm, "exit_mm": c.exit_mm, "bone": c.bone}
                    for c in report.crossings
                ],
                "explanation": report.explanation,
            }
        listed.append(
            {
                "id": technique.id,
                "title": technique.title,
                "kind": technique.kind,
                "targets": list(technique.targets),
                "tool": technique.tool,
                "client_position": technique.client_position,
                "pose": {"action": technique.pose_action, **technique.pose_angles},
                "approach": {
                    k: technique.approach[k]
                    for k in ("angle_to_surface_deg", "cone_half_angle_deg")
                    if k in technique.approach
                },
                "sources": technique.citations,
                "safety": checks,
            }
        )
    report = {
        "nerve_variant": scene.nerve_variant,
        "danger_margin_mm": scene.danger_margin_mm,
        "nerve_variants": [{"id": i, "name": n, "prevalence_percent": p} for i, n, p in variant_choices()],
        "techniques": listed,
    }
    if args.json:
        print_json(report)
        return 0
    refuse_non_finite(report)
    for entry in listed:
        verdicts = ", ".join(
            f"{side}: {'FLAGGED' if c['flagged'] else 'safe'} ({c['angle_to_surface_deg']:.0f}° to surface, "
            f"{c['nerve_distance_mm']:.1f} mm from nerve, margin {c['danger_margin_mm']:g} mm)"
            for side, c in entry["safety"].items()
        )
        print(f"{entry['id']:36s} {verdicts}")
    return 0
