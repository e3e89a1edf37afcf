"""The sciatic nerve and its danger zones as scene structures, posed with the thighs.

The nerve geometry, zones and variants come from :mod:`viewer.anatomy.nerve`
and :mod:`viewer.anatomy.nerve_zones` (data in ``nerve.json`` and
``danger_zones.json``). Here they become structures the scene can show, and a
deformer re-poses the nerve and rebuilds its zones for every pose.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.kinematics import LegPose
from viewer.anatomy.leg_memo import LegMemo
from viewer.anatomy.nerve import NerveGeometry, build_nerves, load_nerve_spec
from viewer.anatomy.nerve_posing import pose_nerves
from viewer.anatomy.nerve_zones import DangerZone, DangerZoneLayout, build_danger_zones, load_danger_zone_data
from viewer.anatomy.posed import PosedShape
from viewer.model.structures import Structure
from viewer.types import FloatArray

DANGER_OPACITY = 0.35


def zone_name(zone: DangerZone) -> str:
    """The scene name of a danger zone (its id and side, e.g. ``sciatic_notch_zone_right``)."""
    return zone_structure_name(zone.id, zone.side)


def zone_structure_name(zone_id: str, side: str) -> str:
    """The scene name of a zone (``sciatic_notch`` on the right: ``sciatic_notch_zone_right``)."""
    return f"{zone_id}_zone_{side}"


def variant_choices() -> list[tuple[str, str, float]]:
    """(id, display name, prevalence %) of each anatomical variant of the nerve's exit."""
    spec = load_nerve_spec()
    return [(v.id, v.display_name, v.prevalence_percent) for v in spec.variants.values()]


def danger_margin_default() -> float:
    """The nerve margin the data file sets (mm)."""
    from viewer.anatomy.nerve_zones import load_danger_zone_data

    zones = load_danger_zone_data()["zones"]
    return float(next(z["margin_mm"] for z in zones if z["kind"] == "nerve_margin"))


def nerve_info(nerve: NerveGeometry) -> dict:
    """The info-panel text for the nerve, with the chosen variant and how common it is."""
    spec = load_nerve_spec()
    variant = spec.variants[nerve.variant]
    info = dict(spec.info)
    info["variant"] = f"{variant.display_name}: about {variant.prevalence_percent:g}% of limbs. {variant.description}"
    info["sources"] = [*spec.sources, variant.source]
    info["variant_id"] = variant.id
    return info


def nerve_and_zone_structures(
    variant: str | None = None, margin_mm: float | None = None
) -> tuple[list[Structure], dict[str, NerveGeometry]]:
    """Both sciatic nerves and their danger zones (anatomical position; margin None = the data's)."""
    nerves = build_nerves(variant)
    structures = []
    for name, nerve in nerves.items():
        structures.append(
            Structure(
                name=name,
                kind="nerve",
                display_name=nerve.display_name + f" ({nerve.side})",
                colour=nerve.colour,
                vertices=nerve.vertices,
                faces=nerve.faces,
                side=nerve.side,
                segment=None,
                layer=2,
                layer_name="nerve",
                info=nerve_info(nerve),
                common_names=("sciatic", "sciatic nerve"),
                centreline=np.vstack(nerve.centrelines),
            )
        )
        for zone in build_danger_zones(nerve, margin_mm=margin_mm):
            structures.append(
                Structure(
                    name=zone_name(zone),
                    kind="danger",
                    display_name=f"{zone.display_name} ({zone.side})",
                    colour=zone.colour,
                    vertices=zone.vertices,
                    faces=zone.faces,
                    side=zone.side,
                    segment=None,
                    layer=2,
                    layer_name="danger",
                    info={"massage_note": zone.why, "sources": list(zone.sources)},
                )
            )
    return structures, nerves


class NerveDeformer:
    """Skins each nerve between pelvis and thigh and places its zones around the posed course."""

    def __init__(self, nerves: dict[str, NerveGeometry], margin_mm: float | None = None) -> None:
        self.nerves = nerves
        self.margin_mm = margin_mm
        data = load_danger_zone_data()  # read and validated once, not at every frame
        self.zone_layouts = {name: DangerZoneLayout(nerve, margin_mm, data) for name, nerve in nerves.items()}
        self.latest: LegMemo[dict[str, PosedShape]] = LegMemo()  # by nerve: its pelvis and thigh as last time

    def pose(
        self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None
    ) -> dict[str, PosedShape]:
        """The nerves and their danger zones carried by the thigh transforms (``poses`` is not needed).

        A nerve depends on the pelvis and its own thigh only: while those stay as in the previous pose (the
        other leg moving), its shapes and its zones' are handed back as they were, not computed again.
        """
        eye = np.eye(4)
        full = {"pelvis": eye, **transforms}
        keys = {
            name: tuple(np.asarray(full.get(s, eye), float) for s in ("pelvis", f"thigh_{nerve.side}"))
            for name, nerve in self.nerves.items()
        }
        moved = [name for name in self.nerves if not self.latest.holds(name, keys[name])]
        posed_nerves = pose_nerves([self.nerves[n] for n in moved], full) if moved else []
        for name, (vertices, line) in zip(moved, posed_nerves, strict=True):
            nerve = self.nerves[name]
            shapes = {name: PosedShape(vertices, centreline=line)}
            for zone_id, zone_vertices in self.zone_layouts[name].vertices(nerve.posed_centrelines(line)).items():
                shapes[zone_structure_name(zone_id, nerve.side)] = PosedShape(zone_vertices)
            self.latest.store(name, keys[name], shapes)
        posed: dict[str, PosedShape] = {}
        for name in self.nerves:
            posed.update(self.latest.last(name))
        return posed


__all__ = ["NerveDeformer", "nerve_and_zone_structures", "variant_choices", "zone_name"]
