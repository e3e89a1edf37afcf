"""The scene model: structures, what is shown, the pose, and the selection.

State changes go through setters that validate, store and emit a signal; the
renderer and the Qt panels listen. Nothing here imports Qt or pyvista, so the
whole scene can be built, posed, measured and exported in a headless test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from viewer.anatomy.bones import SIDES, landmark_info, load_landmarks
from viewer.anatomy.geometry import apply, polyline_lengths
from viewer.anatomy.kinematics import JOINT_RANGES, LegPose, PoseError, bone_segment, segment_transforms
from viewer.anatomy.leg_memo import LegMemo
from viewer.anatomy.posed import Deformer, PosedNerve, PosedShape
from viewer.io.references import cite
from viewer.model.events import Signal
from viewer.model.layers import Layer, assign_layers, layer_index, load_layers
from viewer.model.skin import SKIN_OPACITY, default_skin_tone, skin_deformer_factory, skin_structure, skin_tones
from viewer.model.structure_builders import bone_structures, muscle_deformer, muscle_structures
from viewer.model.structures import DeformerFactory, Structure
from viewer.model.terminology import LANGUAGES, apply_terminology, landmark_term
from viewer.types import FloatArray

if TYPE_CHECKING:
    from viewer.anatomy.impingement import Impingement
    from viewer.anatomy.nerve import NerveGeometry
    from viewer.anatomy.nerve_zones import DangerZone

CAUTION_DEPTH_MM = 80.0  # how far pressure is followed inward from the skin


class SceneModel:
    """Everything the viewer shows, independent of how it is drawn."""

    def __init__(
        self,
        structures: Iterable[Structure],
        landmarks: dict[str, FloatArray],
        deformer_factories: dict[str, DeformerFactory] | None = None,
        nerves: dict[str, NerveGeometry] | None = None,
    ) -> None:
        self.structures: dict[str, Structure] = {s.name: s for s in structures}
        self._nerves = dict(nerves or {})  # by structure name: the nerves the nerve deformer poses
        self._zones: LegMemo[list[DangerZone]] = LegMemo()  # by side: the danger zones at that leg's pose
        self.layers = load_layers()
        assign_layers(self.structures.values(), self.layers)
        # Deformers are created on the first pose away from anatomical position (start-up stays quick).
        self._deformer_factories = dict(deformer_factories or {})  # by role: "muscles", "nerves", "skin"
        self._deformers: dict[str, Deformer] = {}
        self._posed: dict[str, PosedShape] = {}
        self._rest_lengths = {n: polyline_lengths(s.fibres) for n, s in self.structures.items() if s.fibres is not None}
        self._colour_mode = "anatomy"
        self.landmarks_rest = dict(landmarks)
        self._landmark_bones = {name: info["bone"] for name, info in landmark_info().items()}
        self._landmark_names = {name: info["display_name"] for name, info in landmark_info().items()}
        self._language = "english"
        self._visible = dict.fromkeys(self.structures, True)
        self._opacity = dict.fromkeys(self.structures, 1.0)
        self._pose = {side: LegPose() for side in SIDES}
        self._selection: str | None = None
        self._segment_transforms = self._compute_segment_transforms()
        self.visibility_changed = Signal("visibility_changed")  # (name, visible)
        self.opacity_changed = Signal("opacity_changed")  # (name, opacity)
        self.pose_changed = Signal("pose_changed")  # (pose by side)
        self.selection_changed = Signal("selection_changed")  # (name or None)
        self.fibres_visibility_changed = Signal("fibres_visibility_changed")  # (visible)
        self.colour_mode_changed = Signal("colour_mode_changed")  # ("anatomy" | "stretch")
        self.structures_replaced = Signal("structures_replaced")  # (names): new geometry, maybe new topology
        self.language_changed = Signal("language_changed")  # ("english" | "latin")
        self.section_changed = Signal("section_changed")  # (SectionPlane or None)
        self.body_changed = Signal("body_changed")  # ("female" | "male"): another skin on the same anatomy
        self.skin_tone_changed = Signal("skin_tone_changed")  # (tone id): the skin's colour from the palette
        self._skin_tone = default_skin_tone()
        self._section = None
        self._fibres_visible = False
        self._impingement_check = None  # built on first use

    # --- visibility and opacity -------------------------------------------------
    def _check_name(self, name: str) -> None:
        if name not in self.structures:
            raise KeyError(f"unknown structure {name!r}")

    def is_visible(self, name: str) -> bool:
        """Whether the structure ``name`` is shown (a KeyError for an unknown name)."""
        self._check_name(name)
        return self._visible[name]

    def set_visible(self, name: str, visible: bool) -> None:
        """Show or hide ``name``; ``visibility_changed`` when it changes."""
        self._check_name(name)
        if self._visible[name] != bool(visible):
            self._visible[name] = bool(visible)
            self.visibility_changed.emit(name, bool(visible))

    def opacity(self, name: str) -> float:
        """Opacity of ``name``, 0 to 1."""
        self._check_name(name)
        return self._opacity[name]

    def set_opacity(self, name: str, opacity: float) -> None:
        """Opacity of ``name`` (clipped to 0..1); ``opacity_changed`` when it changes."""
        self._check_name(name)
        value = float(np.clip(opacity, 0.0, 1.0))
        if self._opacity[name] != value:
            self._opacity[name] = value
            self.opacity_changed.emit(name, value)

    # --- selection -----------------------------------------------------------------
    @property
    def selection(self) -> str | None:
        """The selected structure's name, or None."""
        return self._selection

    def select(self, name: str | None) -> None:
        """Select a structure (None: nothing); ``selection_changed`` when it changes."""
        if name is not None:
            self._check_name(name)
        if name != self._selection:
            self._selection = name
            self.selection_changed.emit(name)

    # --- fibre lines ---------------------------------------------------------------------
    @property
    def fibres_visible(self) -> bool:
        """Whether the fibre lines are drawn."""
        return self._fibres_visible

    def set_fibres_visible(self, visible: bool) -> None:
        """Draw each muscle's fibre lines over it (shows students the pull direction)."""
        if self._fibres_visible != bool(visible):
            self._fibres_visible = bool(visible)
            self.fibres_visibility_changed.emit(bool(visible))

    # --- nerve variant -------------------------------------------------------------------
    @property
    def nerve_variant(self) -> str | None:
        """The id of the sciatic nerve's anatomical variant shown, or None without a nerve."""
        nerves = [s for s in self.structures.values() if s.kind == "nerve"]
        return nerves[0].info.get("variant_id") if nerves else None

    def set_nerve_variant(self, variant: str) -> None:
        """Switch the sciatic nerve to another anatomical variant (geometry replaced, then announced)."""
        if variant != self.nerve_variant:
            self._rebuild_nerves(variant, self.danger_margin_mm)

    @property
    def danger_margin_mm(self) -> float:
        """Safety margin around the nerve (mm): the data file's until :meth:`set_danger_margin` changes it."""
        if getattr(self, "_danger_margin_mm", None) is None:
            from viewer.model.nerves import danger_margin_default

            self._danger_margin_mm = danger_margin_default()
        return self._danger_margin_mm

    def set_danger_margin(self, margin_mm: float) -> None:
        """Widen or narrow the danger zone around the nerve; the safety check uses the same margin."""
        if not 0 <= margin_mm <= 60:
            raise ValueError(f"danger margin {margin_mm:g} mm outside 0..60 mm")
        if margin_mm != self.danger_margin_mm:
            self._danger_margin_mm = float(margin_mm)
            self._rebuild_nerves(self.nerve_variant, self._danger_margin_mm)

    def _rebuild_nerves(self, variant: str | None, margin_mm: float | None) -> None:
        from viewer.model.nerves import NerveDeformer, nerve_and_zone_structures

        visible = {n: self._visible[n] for n in self.names("danger")}
        parts, nerves = nerve_and_zone_structures(variant, margin_mm)
        apply_terminology(parts)
        assign_layers(parts, self.layers)
        for structure in parts:
            self.structures[structure.name] = structure
            self._posed.pop(structure.name, None)
        self.__dict__.pop("_neighbour_finder", None)  # new nerve geometry: its neighbours are found again
        self._nerves = dict(nerves)
        self._deformer_factories["nerves"] = lambda: NerveDeformer(nerves, margin_mm)
        self._deformers.pop("nerves", None)  # the muscles keep their poser and its warm start
        self._visible.update(visible)
        self._update_deformables()
        if hasattr(self, "_caution_field"):
            del self._caution_field
        self.structures_replaced.emit([s.name for s in parts])

    # --- body type and skin tone ----------------------------------------------------------
    @property
    def body(self) -> str | None:
        """The skin's body type (``female`` or ``male``); None in a scene without skin."""
        skins = [s for s in self.structures.values() if s.kind == "skin"]
        return skins[0].info.get("body_type") if skins else None

    def set_body(self, body: str) -> None:
        """Put another body type's skin over the same bones and muscles (the skin replaced, then announced).

        Only the surface and its fat change; the skin keeps its visibility and opacity, and follows the pose.
        """
        if self.body is None:
            raise ValueError("this scene has no skin to change")
        if body == self.body:
            return
        skin = skin_structure(body)  # an unknown body type fails here, before anything changes
        apply_terminology([skin])
        assign_layers([skin], self.layers)
        self.structures[skin.name] = skin
        self._posed.pop(skin.name, None)
        self._deformer_factories["skin"] = skin_deformer_factory(skin, body)
        self._deformers.pop("skin", None)
        for stale in ("_caution_field", "_neighbour_finder"):  # both were measured on the old surface
            self.__dict__.pop(stale, None)
        self._update_deformables()
        self.structures_replaced.emit([skin.name])
        self.body_changed.emit(body)

    @property
    def skin_tone(self) -> str:
        """The id of the skin's colour in the palette (``assets/annotations/skin_tones.json``)."""
        return self._skin_tone

    def set_skin_tone(self, tone: str) -> None:
        """The skin's colour by tone id (``skin_tones.json``); a ValueError names the choices."""
        tones = skin_tones()
        if tone not in tones:
            raise ValueError(f"skin tone must be one of {', '.join(tones)}, not {tone!r}")
        if tone != self._skin_tone:
            self._skin_tone = tone
            self.skin_tone_changed.emit(tone)

    def skin_colour(self) -> str:
        """The skin's colour at the chosen tone (hex)."""
        return skin_tones()[self._skin_tone].colour

    # --- names ------------------------------------------------------------------------
    @property
    def language(self) -> str:
        """Which name comes first in the panels and labels: ``english`` or ``latin`` (Terminologia Anatomica)."""
        return self._language

    def set_language(self, language: str) -> None:
        """Names in ``english`` or ``latin``; ``language_changed`` when it changes."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
        if language != self._language:
            self._language = language
            self.language_changed.emit(language)

    def structure_name(self, name: str, language: str | None = None) -> str:
        """A structure's name in the language (default: the current one), with its side: ``piriformis (right)``."""
        structure = self.structures[name]
        if (language or self._language) == "latin" and structure.latin_name:
            return f"{structure.latin_name} ({structure.side})" if structure.side else structure.latin_name
        return structure.display_name

    def both_names(self, name: str) -> str:
        """English and Latin, the current language first, without the side: ``Piriformis (musculus piriformis)``."""
        structure = self.structures[name]
        english = structure.display_name.removesuffix(f" ({structure.side})")
        if not structure.latin_name:
            return english
        names = (english, structure.latin_name)
        first, second = names[::-1] if self._language == "latin" else names
        return f"{first} ({second})"

    def sources(self, name: str) -> list[str]:
        """The published works a structure's text comes from, each once (see :mod:`viewer.io.references`)."""
        return cite(self.structures[name].info.get("sources", ()))

    # --- cross-section ---------------------------------------------------------------------
    @property
    def section(self):
        """The clipping plane (:class:`~viewer.model.sections.SectionPlane`) or None: the whole body."""
        return self._section

    def set_section(self, plane) -> None:
        """Cut the body with a plane (everything on its normal's side cut away, the cut capped); None: no cut."""
        if plane is not self._section:
            self._section = plane
            self.section_changed.emit(plane)

    def section_caps(self) -> dict:
        """The filled section of each shown structure at the current pose ({} without a cut)."""
        from viewer.model.sections import scene_section

        if self._section is None:
            return {}
        solid = [  # ghosts (peeled layers seen through) are not cut solid; the translucent skin is
            n for n, s in self.structures.items() if self._visible[n] and (self._opacity[n] > 0.3 or s.kind == "skin")
        ]
        return scene_section(self, self._section, solid)

    # --- colouring ---------------------------------------------------------------------
    COLOUR_MODES = ("anatomy", "stretch")

    @property
    def colour_mode(self) -> str:
        """``anatomy`` (each structure its colour) or ``stretch`` (length change)."""
        return self._colour_mode

    def set_colour_mode(self, mode: str) -> None:
        """``anatomy`` (each structure its own colour) or ``stretch`` (length change from anatomical)."""
        if mode not in self.COLOUR_MODES:
            raise ValueError(f"colour mode must be one of {self.COLOUR_MODES}, not {mode!r}")
        if mode != self._colour_mode:
            self._colour_mode = mode
            self.colour_mode_changed.emit(mode)

    # --- pose ------------------------------------------------------------------------
    def pose(self, side: str = "right") -> LegPose:
        """The joint angles of one leg."""
        return self._pose[side]

    def set_pose(self, side: str = "both", **angles: float) -> None:
        """Set joint angles (degrees) on one side or both; other angles keep their values."""
        sides = SIDES if side == "both" else (side,)
        if any(s not in SIDES for s in sides):
            raise PoseError(f"side must be right, left or both, not {side!r}")
        new = {s: self._pose[s].replaced(**angles) for s in sides}  # validates before changing anything
        if all(new[s] == self._pose[s] for s in sides):
            return
        self._pose.update(new)
        self._after_pose_change()

    def _after_pose_change(self) -> None:
        self._segment_transforms = self._compute_segment_transforms()
        self._update_deformables()
        self.pose_changed.emit(dict(self._pose))

    def set_leg_poses(self, poses: dict[str, LegPose]) -> None:
        """Set whole-leg poses at once (one signal, one muscle update), e.g. from the timeline."""
        if any(side not in SIDES for side in poses):
            raise PoseError(f"sides must be right or left, not {sorted(poses)}")
        if all(poses[side] == self._pose[side] for side in poses):
            return
        self._pose.update(poses)
        self._after_pose_change()

    def reset_pose(self) -> None:
        """Back to anatomical position."""
        self.set_pose("both", **dict.fromkeys(JOINT_RANGES, 0.0))

    def impingements(self) -> list[Impingement]:
        """Bony impingement at the current pose, deepest first (see :mod:`viewer.anatomy.impingement`).

        The joint ranges hold each angle on its own; some combinations still drive the femur into the
        pelvis, and the panels and the command line say so rather than show bones passing through bones.
        """
        if all(pose == LegPose() for pose in self._pose.values()):
            return []
        if self._impingement_check is None:
            from viewer.anatomy.impingement import ImpingementCheck

            self._impingement_check = ImpingementCheck(landmarks=self.landmarks_rest)
        return self._impingement_check.check(self._segment_transforms)

    def _compute_segment_transforms(self) -> dict[str, FloatArray]:
        return {"pelvis": np.eye(4), **segment_transforms(self._pose, self.landmarks_rest)}

    def _update_deformables(self) -> None:
        """Re-shape muscles (and other deformables) for the current segment transforms."""
        if not self._deformer_factories:
            return
        if all(pose == LegPose() for pose in self._pose.values()):
            self._posed.clear()  # anatomical position: the rest geometry itself
            return
        transforms = {k: v for k, v in self._segment_transforms.items() if k != "pelvis"}
        for deformer in self._active_deformers():
            for name, posed in deformer.pose(transforms, dict(self._pose)).items():
                if name in self.structures:
                    self._posed[name] = posed

    def lengths_at(self, poses: dict[str, LegPose], names: Iterable[str]) -> dict[str, float]:
        """Mean fibre lengths (mm) the named structures would have at ``poses``; the scene is unchanged.

        Used to plot a muscle's length over a whole action before it is played.
        """
        names = [n for n in names if self.structures[n].fibres is not None]
        full = {side: poses.get(side, LegPose()) for side in SIDES}
        if all(p == LegPose() for p in full.values()) or not self._deformer_factories:
            return {n: float(self._rest_lengths[n].mean()) for n in names}
        transforms = segment_transforms(full, self.landmarks_rest)
        posed: dict[str, PosedShape] = {}
        for deformer in self._active_deformers():
            saved = deformer.warm_start() if hasattr(deformer, "warm_start") else None
            posed.update(deformer.pose(transforms, full))
            if saved is not None:  # a solver that warm-starts continues from the live pose, untouched
                deformer.restore_warm_start(saved)
        return {
            n: float(polyline_lengths(posed[n].fibres).mean()) if n in posed else float(self._rest_lengths[n].mean())
            for n in names
        }

    def _active_deformers(self) -> list[Deformer]:
        """The deformers, created on first use (start-up stays quick)."""
        for role, factory in self._deformer_factories.items():
            if role not in self._deformers:
                self._deformers[role] = factory()
        return list(self._deformers.values())

    def segment_transform(self, segment: str) -> FloatArray:
        """4x4 transform of a rigid body part at the current pose."""
        return self._segment_transforms[segment]

    # --- geometry at the current pose -----------------------------------------------
    def vertices(self, name: str) -> FloatArray:
        """Vertices of a structure at the current pose."""
        structure = self.structures[name]
        if structure.segment is None:
            posed = self._posed.get(name)
            return structure.vertices if posed is None else posed.vertices
        if structure.segment == "pelvis":
            return structure.vertices
        return apply(self._segment_transforms[structure.segment], structure.vertices)

    def fibres(self, name: str) -> FloatArray | None:
        """Fibre polylines of a structure at the current pose (None for bones)."""
        posed = self._posed.get(name)
        if posed is not None and posed.fibres is not None:
            return posed.fibres
        return self.structures[name].fibres

    def fibre_lines(self, name: str) -> FloatArray | None:
        """Fibre polylines to draw: on the outer surface where the structure provides them."""
        posed = self._posed.get(name)
        outer = posed.outer_fibres if posed is not None else self.structures[name].outer_fibres
        return outer if outer is not None else self.fibres(name)

    def centreline(self, name: str) -> FloatArray | None:
        """A nerve's course at the current pose (None for other structures)."""
        posed = self._posed.get(name)
        line = posed.centreline if posed is not None else None
        return line if line is not None else self.structures[name].centreline

    def posed_nerve(self, side: str) -> PosedNerve:
        """The sciatic nerve of ``side`` as the scene shows it at the current pose (a KeyError without nerves).

        Techniques, the probe and the quiz measure against this very nerve: it is not built or posed again.
        """
        name = next((n for n, s in self._nerves.items() if s.side == side), None)
        if name is None:
            raise KeyError(f"the scene has no nerve on the {side} side")
        geometry = self._nerves[name]
        return PosedNerve(geometry, self.vertices(name), geometry.posed_centrelines(self.centreline(name)))

    def danger_zones(self, side: str) -> list[DangerZone]:
        """The danger zones of ``side`` around the posed nerve, at the scene's margin, as measurable objects
        (distance, inside). Built once per pose of that leg, nerve variant and margin, then handed back."""
        from viewer.anatomy.nerve_zones import build_danger_zones

        nerve = self.posed_nerve(side)
        legs = (self._segment_transforms[f"{segment}_{side}"] for segment in ("thigh", "shank"))
        inputs = (self.nerve_variant, self.danger_margin_mm, *legs)
        return self._zones.get(
            side,
            inputs,
            lambda: build_danger_zones(nerve.geometry, nerve.centrelines, self.landmarks(), self.danger_margin_mm),
        )

    def stretch(self, name: str) -> FloatArray | None:
        """Per-fibre length change from anatomical position (0.1 = 10% longer)."""
        fibres = self.fibres(name)
        if fibres is None:
            return None
        return polyline_lengths(fibres) / self._rest_lengths[name] - 1.0

    def length_change(self, name: str) -> float | None:
        """Mean fibre path length relative to anatomical position, minus one."""
        length = self.length_mm(name)
        return None if length is None else length / float(self._rest_lengths[name].mean()) - 1.0

    def length_mm(self, name: str) -> float | None:
        """Mean fibre path length at the current pose (None for structures without fibres)."""
        fibres = self.fibres(name)
        return None if fibres is None else float(polyline_lengths(fibres).mean())

    def landmarks(self) -> dict[str, FloatArray]:
        """Landmark positions at the current pose."""
        posed = {}
        for name, point in self.landmarks_rest.items():
            segment = bone_segment(self._landmark_bones.get(name, ""))
            posed[name] = apply(self._segment_transforms[segment], point[None])[0] if segment != "pelvis" else point
        return posed

    def caution_mask(self):
        """Skin vertices (anatomical position) inside the caution area: one connected area per side."""
        from viewer.anatomy.nerve_zones import CAUTION_LEVEL

        return self.caution_field() >= CAUTION_LEVEL

    def caution_field(self):
        """Smooth field on the skin (anatomical position), (n,) in [0, 1]: where pressing straight in
        would reach a danger zone, smoothed over the skin; its ``CAUTION_LEVEL`` isoline outlines the area."""
        if not hasattr(self, "_caution_field"):
            from viewer.anatomy.geometry import vertex_normals
            from viewer.anatomy.nerve_zones import build_danger_zones, caution_area, caution_region

            skin = next(s for s in self.structures.values() if s.kind == "skin")
            zones = [
                z
                for side in SIDES
                for z in build_danger_zones(self.posed_nerve(side).geometry, margin_mm=self.danger_margin_mm)
            ]
            # only skin within reach of a zone can press into it: test those few thousand points
            reach = np.any([zone.within(skin.vertices, CAUTION_DEPTH_MM) for zone in zones], axis=0)
            normals = vertex_normals(skin.vertices, skin.faces)[reach]
            mask = np.zeros(len(skin.vertices), dtype=bool)
            mask[reach] = caution_area(skin.vertices[reach], zones, normals=normals, depth_mm=CAUTION_DEPTH_MM)
            self._caution_field = caution_region(mask, skin.vertices, skin.faces, np.sign(skin.vertices[:, 2]))
        return self._caution_field

    def neighbours(self, name: str):
        """What lies over, under and beside a structure (see :mod:`viewer.model.neighbours`)."""
        if not hasattr(self, "_neighbour_finder"):
            from viewer.model.neighbours import NeighbourFinder

            self._neighbour_finder = NeighbourFinder(self)
        return self._neighbour_finder.neighbours(name)

    def landmark_bones(self) -> dict[str, str]:
        """Which bone structure each landmark lies on."""
        return dict(self._landmark_bones)

    def landmark_display_name(self, name: str, language: str | None = None) -> str:
        """A landmark's name (without side) in the language (default: the current one)."""
        term = landmark_term(name)
        return term.name(language or self._language) if term else self._landmark_names.get(name, name)

    def layer_of(self, name: str) -> Layer | None:
        """The peeling layer (``layers.json``) a structure belongs to; None for overlays such as danger zones."""
        index = layer_index(name, self.layers)
        return None if index is None else self.layers[index]

    def names(self, kind: str | None = None) -> list[str]:
        """Structure names, all or those of one ``kind`` (``muscle``, ``bone``, ``danger``...)."""
        return [n for n, s in self.structures.items() if kind is None or s.kind == kind]

    # --- report ------------------------------------------------------------------------
    def describe(self, include_fibres: bool = False) -> dict:
        """The JSON-ready summary printed by ``python -m viewer inspect --json`` (see :func:`describe_scene`)."""
        from viewer.model.scene_report import describe_scene

        return describe_scene(self, include_fibres)

def build_scene(muscles: bool = True, body: str | None = None) -> SceneModel:
    """Build the full scene from the shipped assets (no Qt, no rendering); ``body`` picks the skin's body type."""
    structures = bone_structures()
    factories: dict[str, DeformerFactory] = {}
    nerves: dict = {}
    if muscles:
        from viewer.anatomy.muscles import build_muscles
        from viewer.model.nerves import NerveDeformer, nerve_and_zone_structures

        geometry = build_muscles()
        nerve_parts, nerves = nerve_and_zone_structures()
        skin = skin_structure(body)
        structures = [skin, *structures, *muscle_structures(geometry), *nerve_parts]
        factories = {
            "muscles": lambda: muscle_deformer(geometry),
            "nerves": lambda: NerveDeformer(nerves),
            "skin": skin_deformer_factory(skin, skin.info["body_type"]),
        }
    apply_terminology(structures)
    scene = SceneModel(structures, load_landmarks(), factories, nerves)
    for name, (visible, opacity) in default_appearance(scene).items():
        scene.set_opacity(name, opacity)
        scene.set_visible(name, visible)
    return scene


def default_appearance(scene: SceneModel) -> dict[str, tuple[bool, float]]:
    """(visible, opacity) of each structure when the viewer starts: the skin translucent, the danger
    zones hidden (shown with techniques or by the Danger zones toggle), the iliotibial band at its data
    file's translucency (fascia shows what lies beneath), everything else solid."""
    from viewer.model.nerves import DANGER_OPACITY

    kinds = {"skin": (True, SKIN_OPACITY), "danger": (False, DANGER_OPACITY)}
    return {
        name: kinds.get(s.kind, (True, s.appearance.opacity if s.appearance else 1.0))
        for name, s in scene.structures.items()
    }
