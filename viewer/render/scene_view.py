"""Draws a :class:`SceneModel` on any pyvista plotter and keeps it in sync.

Written against ``BasePlotter``, so the same code draws into an off-screen
``pyvista.Plotter`` for exports and tests and into the Qt window's
``QtInteractor``. This is the only code that touches the renderer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyvista as pv
from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor, vtkLegendBoxActor
from vtkmodules.vtkRenderingCore import vtkCellPicker

from viewer.anatomy.geometry import nearest_polyline, polyline_lengths, vertex_normals
from viewer.anatomy.nerve_zones import CAUTION_LEVEL
from viewer.model.events import Signal
from viewer.model.scene import SceneModel
from viewer.render.attachments import AttachmentView
from viewer.render.colour_bar import ColourBar
from viewer.render.frames import no_implicit_render
from viewer.render.labels import Box, StructureLabels, TextSizes, print_text_sizes, screen_text_sizes
from viewer.render.landmark_pins import LandmarkPins
from viewer.render.section_view import SectionView
from viewer.render.striation import belly_and_tendon_colours, striation_texture, texture_coordinates
from viewer.render.views import VIEW_ANGLE_DEG, CameraPose, camera_for

HIGHLIGHT_COLOUR = "#ffd21f"
PICKABLE_OPACITY = 0.5
CAUTION_ARRAY = "caution_area"
CAUTION_RGBA = [214, 39, 40, 255]
CAUTION_OUTLINE_COLOUR = "#7a1010"
CAUTION_OUTLINE_WIDTH = 3.0
CAUTION_OUTLINE_LIFT_MM = 0.8  # the outline sits just above the skin so it is never buried in it
SKIN_OUTLINE_COLOUR = "#5a3b2c"  # the body's contour, drawn while the skin is see-through
SKIN_OUTLINE_WIDTH = 2.0
SKIN_OUTLINE_BELOW_OPACITY = 0.6  # the outline shows while the skin is at most this opaque


def danger_legend_entries(model: SceneModel) -> dict[str, str]:
    """The danger layer's legend, entry -> colour: each zone kind once, plus the caution area on the skin."""
    entries: dict[str, str] = {}
    for name in model.names("danger"):
        structure = model.structures[name]
        entries.setdefault(structure.display_name.rsplit(" (", 1)[0], structure.colour)
    entries["Caution area on the skin (pressure would reach a zone)"] = "#d62728"
    return entries


def danger_legend(model: SceneModel) -> vtkLegendBoxActor:
    """Legend for the danger layer (:func:`danger_legend_entries`)."""
    entries = danger_legend_entries(model)
    legend = vtkLegendBoxActor()
    legend.SetNumberOfEntries(len(entries))
    square = pv.Plane(i_resolution=1, j_resolution=1)
    for index, (text, colour) in enumerate(entries.items()):
        legend.SetEntry(index, square, text, pv.Color(colour).float_rgb)
    legend.SetBorder(False)
    legend.UseBackgroundOn()
    legend.SetBackgroundColor(1.0, 1.0, 1.0)
    legend.SetBackgroundOpacity(0.75)
    legend.GetEntryTextProperty().SetColor(0.1, 0.1, 0.1)
    legend.GetEntryTextProperty().SetFontFamilyToArial()
    return legend


def legend_box(texts: list[str], sizes: TextSizes, window: tuple[float, float]) -> Box:
    """Top-left box (display pixels) in which a legend's entries are drawn at ``sizes.font_px``.

    VTK's legend fits its text to its box, so the box is sized from the text: a line and a half per entry,
    about 0.6 em per character plus the colour square, at most the window's width less the margins.
    """
    width, height = window
    margin, font = sizes.margin_px, sizes.font_px
    longest = max((len(t) for t in texts), default=0)
    box_width = min(font * (0.6 * longest + 2.5), width - 2 * margin)
    box_height = min(font * (1.5 * len(texts) + 0.5), height - 2 * margin)
    return Box(margin, height - margin - box_height, margin + box_width, height - margin)


STRETCH_ARRAY = "length_change_percent"
ATLAS_ARRAY = "atlas_colour"  # per-vertex RGB of a muscle in the anatomy colouring: belly paling into tendon
STRETCH_LIMIT_PERCENT = 20.0
STRETCH_CMAP = "RdBu_r"  # diverging and colour-blind safe: blue shortened, white unchanged, red lengthened
STRETCH_TITLE = "Length change from anatomical position (%)"
LABEL_FONT_SIZE = 14
ORIENTATION_VIEWPORT = (0.0, 0.0, 0.09, 0.13)  # the orientation cube's corner (normalized viewport)
BACKGROUND_TOP = "#f7f5f1"
BACKGROUND_BOTTOM = "#d6d2ca"
# Faces of the orientation cube, as clinical viewers label them.
CUBE_FACES = {"XPlus": "A", "XMinus": "P", "YPlus": "S", "YMinus": "I", "ZPlus": "R", "ZMinus": "L"}


def orientation_cube() -> vtkAnnotatedCubeActor:
    """A small cube whose faces read A/P, S/I, R/L: the anatomical orientation marker."""
    cube = vtkAnnotatedCubeActor()
    for face, text in CUBE_FACES.items():
        getattr(cube, f"Set{face}FaceText")(text)
    cube.SetFaceTextScale(0.6)
    # VTK lays the letters out for a Z-up world; ours is Y-up.
    cube.SetXFaceTextRotation(-90)
    cube.SetYFaceTextRotation(90)
    cube.SetZFaceTextRotation(90)
    cube.GetCubeProperty().SetColor(0.93, 0.91, 0.87)
    cube.GetTextEdgesProperty().SetColor(0.3, 0.3, 0.3)
    for axis, colour in (("X", (0.75, 0.25, 0.2)), ("Y", (0.2, 0.55, 0.3)), ("Z", (0.2, 0.35, 0.75))):
        for sign in ("Plus", "Minus"):
            getattr(cube, f"Get{axis}{sign}FaceProperty")().SetColor(*colour)
    return cube


def fibre_lines(fibres: np.ndarray) -> pv.PolyData:
    """All fibre polylines of one muscle as a single line mesh."""
    n_fibres, n_samples, _ = fibres.shape
    points = fibres.reshape(-1, 3)
    starts = np.arange(n_fibres) * n_samples
    lines = np.hstack([np.full((n_fibres, 1), n_samples), starts[:, None] + np.arange(n_samples)]).ravel()
    return pv.PolyData(points, lines=lines)


def polydata(vertices: np.ndarray, faces: np.ndarray) -> pv.PolyData:
    """A triangle PolyData with point normals for smooth shading."""
    cells = np.hstack([np.full((len(faces), 1), 3), faces]).ravel()
    mesh = pv.PolyData(np.asarray(vertices, dtype=float), cells)
    return mesh.compute_normals(cell_normals=False, point_normals=True, split_vertices=False, auto_orient_normals=False)


class SceneView:
    """One actor per structure; listens to the model and updates only what changed."""

    def __init__(self, plotter: pv.BasePlotter, model: SceneModel, show_axes: bool = True) -> None:
        self.plotter = plotter
        self.model = model
        self.actors: dict[str, pv.Actor] = {}
        self.meshes: dict[str, pv.PolyData] = {}
        self._stale: set[str] = set()  # deformables posed while hidden: their points follow when shown
        self.fibre_actors: dict[str, pv.Actor] = {}
        self.highlight_actor: pv.Actor | None = None
        self.label_scale = 1.0  # presentation mode enlarges on-screen text
        self.print_dpi: float | None = None  # set for exports: text sized for the printed page (see text_sizes)
        self.printing = False
        self.print_scale = 1  # an export drawn this many times larger than the window (tiled)
        self._colour_bar: ColourBar | None = None
        # The window replaces this with a coalescing scheduler (one frame per event-loop turn);
        # off-screen, every change renders at once.
        self.schedule_render: Callable[[], None] | None = None
        # How a frame reaches the screen: the window passes its widget's repaint (whose paint draws the one
        # frame); off-screen the frame is drawn at once.
        self.present: Callable[[], None] | None = None
        self._current_view = "posterior"
        self._fibre_of_vertex: dict[str, np.ndarray] = {}
        self._stretch_bar = False
        self._danger_legend = None
        self.danger_legend_shown = True  # False: the caller lists the legend elsewhere (a handout's page)
        self._caution_outlines: dict[str, pv.Actor] = {}  # skin name -> outline of its caution area
        self.skin_outlines: dict[str, pv.Actor] = {}  # skin name -> its silhouette
        self.skin_outline_enabled = True
        self.line_scale = 1.0  # outlines drawn this many times wider (pictures drawn large and averaged down)
        self._textures: dict[float, pv.Texture] = {}  # striation contrast -> this view's texture
        self.striations = True  # fascicle striations along the fibres of muscles and fascia
        self._labels_stale = False
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.0005)
        plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
        self._setup_lights()
        for name in model.structures:
            self._add_structure(name)
        if show_axes:
            plotter.add_orientation_widget(orientation_cube(), interactive=False, viewport=ORIENTATION_VIEWPORT)
        self._apply_pose()
        self._connections: list[tuple[Signal, Callable[..., None]]] = [
            (model.visibility_changed, self._on_visibility),
            (model.opacity_changed, self._on_opacity),
            (model.pose_changed, self._on_pose),
            (model.selection_changed, self._on_selection),
            (model.fibres_visibility_changed, self._on_fibres_visibility),
            (model.colour_mode_changed, self._on_colour_mode),
            (model.structures_replaced, self._on_structures_replaced),
            (model.skin_tone_changed, self._on_skin_tone),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)
        self._on_colour_mode(model.colour_mode, render=False)
        self._update_danger_display()
        self._on_fibres_visibility(model.fibres_visible, render=False)
        # Translucent layers (skin, ghosts, danger zones) sort correctly with depth peeling, which
        # fails silently with multisampling on Mesa; exports add supersampling for smooth edges.
        plotter.render_window.SetMultiSamples(0)
        plotter.enable_depth_peeling(
            number_of_peels=4, occlusion_ratio=0.1
        )  # 4 peels: 190 vs 835 ms a frame in software GL
        self.labels = StructureLabels(self, enabled=False)
        self.labels.text_sizes = self.text_sizes
        self.labels.obstacles.append(self.overlay_boxes)
        self.pins = LandmarkPins(plotter, model, visible=False, request_render=self.request_render)
        self.pins.own_labels = False  # the labels name the pins that are seen, apart from each other
        self.labels.extra_items = self.pins.label_items
        self.attachments = AttachmentView(plotter, model, enabled=True, request_render=self.request_render)
        for signal in (
            model.visibility_changed, model.opacity_changed, model.selection_changed, model.pose_changed,
            model.language_changed,
        ):  # fmt: skip
            self._connections.append((signal, self._refresh_labels))
        self._connections.append((model.language_changed, self._on_language))
        for signal, slot in self._connections[-6:]:
            signal.connect(slot)
        self.section = SectionView(self)
        self.set_view("posterior")

    def close(self) -> None:
        """Stop listening to the model (the view's own listeners, its pins' and attachments')."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections.clear()
        self.pins.close()
        self.attachments.close()
        self.section.close()

    def _on_language(self, _language: str) -> None:
        self._on_selection(self.model.selection)  # the name at the top, in the new language

    def _add_structure(self, name: str) -> None:
        """One smooth-shaded actor per structure; muscles also get stretch colouring, the skin its caution area."""
        structure = self.model.structures[name]
        # Rigid structures keep their rest vertices and ride on the actor's user matrix (set below and
        # on every pose change); deformable ones are drawn at their current posed vertices.
        rest_or_posed = structure.vertices if structure.segment is not None else self.model.vertices(name)
        mesh = polydata(rest_or_posed, structure.faces)
        look = structure.appearance
        actor = self.plotter.add_mesh(
            mesh,
            color=self._colour_of(name),
            smooth_shading=True,
            ambient=0.18,
            diffuse=0.82,
            specular=look.specular if look else 0.18 if structure.kind == "bone" else 0.3,
            specular_power=look.specular_power if look else 18,
            name=name,
            reset_camera=False,
            pickable=True,
            render=False,
        )
        self.meshes[name] = mesh
        self.actors[name] = actor
        if structure.fibre_uv is not None:
            self._prepare_fibre_look(name, mesh, actor)
        if structure.fibres is not None:
            self._prepare_stretch(name, mesh, actor)
        if structure.kind == "skin":
            self._prepare_caution(name, mesh, actor)
            # translucent skin shows only its near side: its far side seen through it doubled every fold
            actor.prop.culling = "back"
            self._add_skin_outline(name, mesh)
        actor.SetVisibility(self.model.is_visible(name))
        self._set_opacity(name, self.model.opacity(name))
        if structure.segment is not None:
            actor.user_matrix = self.model.segment_transform(structure.segment)

    def _colour_of(self, name: str) -> str:
        """A structure's own colour; the skin's is the palette's tone the model has chosen."""
        structure = self.model.structures[name]
        return self.model.skin_colour() if structure.kind == "skin" else structure.colour

    def _add_skin_outline(self, name: str, mesh: pv.PolyData) -> None:
        """The body's silhouette for the current camera: keeps the contour readable when the skin is ghosted."""
        self.skin_outlines[name] = self.plotter.add_silhouette(
            mesh, color=SKIN_OUTLINE_COLOUR, line_width=SKIN_OUTLINE_WIDTH * self.line_scale, opacity=1.0
        )
        self.skin_outlines[name].SetPickable(False)
        # the outline lies on the skin, which is shown whenever it is: left out of the bounds that frame the camera's
        # clipping range, which would otherwise run the camera-dependent silhouette filter at each camera change
        self.skin_outlines[name].SetUseBounds(False)

    def _show_skin_outline(self, name: str) -> None:
        outline = self.skin_outlines.get(name)
        if outline is not None:
            outline.SetVisibility(
                self.skin_outline_enabled
                and self.model.is_visible(name)
                and self.model.opacity(name) <= SKIN_OUTLINE_BELOW_OPACITY
            )

    def set_skin_outline(self, on: bool) -> None:
        """Draw the body's contour over the see-through skin (True, the default) or not."""
        self.skin_outline_enabled = bool(on)
        for name in self.skin_outlines:
            self._show_skin_outline(name)
        self.request_render()

    def set_line_scale(self, factor: float) -> None:
        """Widen drawn outlines by ``factor`` (a picture drawn larger and averaged down keeps their width)."""
        self.line_scale = float(factor)
        for outline in self.skin_outlines.values():
            outline.prop.line_width = SKIN_OUTLINE_WIDTH * self.line_scale

    def _on_skin_tone(self, _tone: str) -> None:
        self._on_structures_replaced(self.model.names("skin"))
        self.request_render()

    def _on_structures_replaced(self, names: list[str]) -> None:
        """New geometry for some structures (e.g. another nerve variant or body type): rebuild their actors."""
        self._caution_ready = False
        for name in names:
            if name in self.actors:
                self.plotter.remove_actor(self.actors.pop(name), render=False)
            if name in self.skin_outlines:
                self.plotter.remove_actor(self.skin_outlines.pop(name), render=False)
            self._add_structure(name)
        self._update_danger_display()
        self._on_selection(self.model.selection)

    # --- danger zones ----------------------------------------------------------------------
    def _prepare_caution(self, name: str, mesh: pv.PolyData, actor: pv.Actor) -> None:
        """Paint, on the skin, where pressure would travel into a danger zone (computed when first shown).

        The smooth caution field is interpolated across each triangle before the two-colour table
        maps it, so the area's edge is the field's isoline (a smooth curve), not vertex blotches.
        """
        mesh.point_data[CAUTION_ARRAY] = np.zeros(mesh.n_points)
        self._caution_ready = False
        mapper = actor.mapper
        mapper.lookup_table = pv.LookupTable(values=np.array([self._rgba(self._colour_of(name)), CAUTION_RGBA]))
        mapper.lookup_table.scalar_range = (2 * CAUTION_LEVEL - 1.0, 1.0)  # the two colours meet at the level
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray(CAUTION_ARRAY)
        mapper.scalar_range = (2 * CAUTION_LEVEL - 1.0, 1.0)
        mapper.interpolate_before_map = True
        mapper.scalar_visibility = self.danger_visible()

    def _caution_outline(self, name: str) -> pv.PolyData:
        """The caution area's edge on the (posed) skin: the field's isoline, lifted off the surface."""
        outline = self.meshes[name].contour([CAUTION_LEVEL], scalars=CAUTION_ARRAY)
        if outline.n_points and "Normals" in outline.point_data:
            outline.points = outline.points + CAUTION_OUTLINE_LIFT_MM * outline.point_data["Normals"]
        return outline

    def _show_caution_outline(self, name: str, shown: bool) -> None:
        """Draw (or refresh) the outline of the caution area on one skin, or remove it from the plotter: not
        hidden, since a hidden actor is still walked every frame (it is made again when shown)."""
        actor = self._caution_outlines.get(name)
        if not (shown and self.model.is_visible(name)):
            if actor is not None:
                self.plotter.remove_actor(self._caution_outlines.pop(name), render=False)
            return
        if not self._caution_ready:
            return
        outline = self._caution_outline(name)
        if actor is None:
            self._caution_outlines[name] = self.plotter.add_mesh(
                outline, color=CAUTION_OUTLINE_COLOUR, line_width=CAUTION_OUTLINE_WIDTH, lighting=False,
                name=f"{name}__caution_outline", reset_camera=False, pickable=False, render=False,
            )  # fmt: skip
        else:
            actor.mapper.dataset.copy_from(outline)

    @staticmethod
    def _rgba(colour: str) -> list[int]:
        rgb = pv.Color(colour).int_rgb
        return [*rgb, 255]

    def danger_visible(self) -> bool:
        """Whether any danger zone is shown."""
        return any(self.model.is_visible(n) for n in self.model.names("danger"))

    def set_danger_legend_shown(self, shown: bool) -> None:
        """Draw the danger legend over the view (True) or leave it to the caller, e.g. a handout's page (False)."""
        self.danger_legend_shown = shown
        self._update_danger_display()

    def _update_danger_display(self) -> None:
        """Caution area on the skin and the legend follow whether any danger zone is shown."""
        shown = self.danger_visible()
        for name in self.model.names("skin"):
            if shown and not self._caution_ready:
                self.meshes[name].point_data[CAUTION_ARRAY] = self.model.caution_field()
                self._caution_ready = True
            self.actors[name].mapper.scalar_visibility = shown
            self._show_caution_outline(name, shown)
        if shown and self.danger_legend_shown and self._danger_legend is None:
            self._danger_legend = danger_legend(self.model)
            self.plotter.renderer.AddViewProp(self._danger_legend)
            self.place_overlays()
        elif not (shown and self.danger_legend_shown) and self._danger_legend is not None:
            self.plotter.renderer.RemoveViewProp(self._danger_legend)
            self._danger_legend = None

    def _setup_lights(self) -> None:
        """Soft key light from the upper left plus fill and rim: the look of an atlas plate."""
        self.plotter.remove_all_lights()
        key = pv.Light(light_type="camera light", intensity=0.7)
        key.set_direction_angle(35, -30)
        fill = pv.Light(light_type="camera light", intensity=0.45)
        fill.set_direction_angle(-10, 35)
        rim = pv.Light(light_type="camera light", intensity=0.2)
        rim.set_direction_angle(60, 150)
        headlight = pv.Light(light_type="headlight", intensity=0.3)
        for light in (key, fill, rim, headlight):
            self.plotter.add_light(light)

    # --- model events -----------------------------------------------------------------
    def _on_visibility(self, name: str, visible: bool) -> None:
        if visible and name in self._stale:
            self._update_deformable(name)
        self.actors[name].SetVisibility(visible)
        self._show_skin_outline(name)
        if self.model.structures[name].kind in ("danger", "skin"):
            self._update_danger_display()
        self._show_fibres(name)
        if name == self.model.selection:
            self._on_selection(name)  # outline off, and the name at the top says it is hidden
        self.request_render()

    def _on_fibres_visibility(self, visible: bool, render: bool = True) -> None:
        for name in self.model.structures:
            self._show_fibres(name)
        if render:
            self.request_render()

    def _show_fibres(self, name: str) -> None:
        """Draw a muscle's fibre lines while fibres are on and the muscle is shown; otherwise its fibre actor is
        removed from the plotter (a hidden actor would still be walked every frame)."""
        lines = self.model.fibre_lines(name)
        shown = lines is not None and self.model.fibres_visible and self.model.is_visible(name)
        if not shown:
            if name in self.fibre_actors:
                self.plotter.remove_actor(self.fibre_actors.pop(name), render=False)
            return
        if name not in self.fibre_actors:
            self.fibre_actors[name] = self.plotter.add_mesh(
                fibre_lines(lines),
                color="#5a1a10",
                line_width=1.5,
                opacity=0.55,
                name=f"{name}__fibres",
                reset_camera=False,
                pickable=False,
                render=False,
            )

    def _on_selection(self, name: str | None) -> None:
        """Outline the selected structure and name it at the top of the view."""
        if self.highlight_actor is not None:
            self.plotter.remove_actor(self.highlight_actor, render=False)
        self.plotter.remove_actor("__selection_label", render=False)
        self.highlight_actor = None
        if name is not None:
            structure = self.model.structures[name]
            with no_implicit_render(self.plotter):  # pyvista's add_silhouette renders by itself
                self.highlight_actor = self.plotter.add_silhouette(
                    self.meshes[name], color=HIGHLIGHT_COLOUR, line_width=4
                )
            self.highlight_actor.SetVisibility(self.model.is_visible(name))
            if structure.segment is not None:
                self.highlight_actor.user_matrix = self.model.segment_transform(structure.segment)
            hidden = "" if self.model.is_visible(name) else " (hidden)"
            self.plotter.add_text(
                self.model.structure_name(name) + hidden,
                position="upper_edge",
                font_size=round(LABEL_FONT_SIZE * self.label_scale),
                color="#202020",
                name="__selection_label",
                render=False,
            )
        self.request_render()

    def _on_opacity(self, name: str, opacity: float) -> None:
        self._set_opacity(name, opacity)
        self.request_render()

    def _set_opacity(self, name: str, opacity: float) -> None:
        """Translucent things (the skin, ghosts) let clicks through to what is seen beneath them."""
        self.actors[name].prop.opacity = opacity
        self.actors[name].SetPickable(opacity >= PICKABLE_OPACITY)
        self._show_skin_outline(name)

    def _on_pose(self, _pose: dict) -> None:
        self._apply_pose()
        self.request_render()

    # --- the look of muscle: striations along the fibres, bellies paling into tendon -------------
    def _prepare_fibre_look(self, name: str, mesh: pv.PolyData, actor: pv.Actor) -> None:
        """Texture coordinates from the fibre coordinates, the striation texture, and the tendon colours.

        The coordinates are a rest property: posing moves the points and keeps them.
        """
        structure = self.model.structures[name]
        look = structure.appearance
        length = float(polyline_lengths(structure.fibres).mean()) if structure.fibres is not None else 100.0
        mesh.active_texture_coordinates = texture_coordinates(structure.fibre_uv, length)
        if look is not None and look.tendon_colour is not None:
            mesh.point_data[ATLAS_ARRAY] = belly_and_tendon_colours(
                structure.colour, look.tendon_colour, structure.fibre_uv[:, 1], look.origin_tendon, look.insertion_tendon
            )
        self._apply_striation(name)

    def _apply_striation(self, name: str) -> None:
        """Put this structure's striation texture on its actor (or take it off)."""
        structure = self.model.structures[name]
        contrast = structure.appearance.striation if structure.appearance else 1.0
        actor = self.actors[name]
        if self.striations and contrast > 0:
            if contrast not in self._textures:
                self._textures[contrast] = striation_texture(contrast)
            actor.texture = self._textures[contrast]
        else:
            actor.texture = None
        actor.prop.Modified()  # VTK rebuilds the shader (with or without the texture) only when the property changes

    def show_striations(self, shown: bool) -> None:
        """Striations along the fibres on (the atlas look) or off (plain shading)."""
        self.striations = bool(shown)
        for name, structure in self.model.structures.items():
            if structure.fibre_uv is not None:
                self._apply_striation(name)
        self.request_render()

    def _colour_by(self, name: str, stretch: bool) -> None:
        """A muscle's colouring: the stretch colour map, its atlas colours (belly and tendon), or its one colour."""
        mapper = self.actors[name].mapper
        atlas = ATLAS_ARRAY in self.meshes[name].point_data
        if stretch:
            mapper.SelectColorArray(STRETCH_ARRAY)
            mapper.SetColorModeToMapScalars()
            mapper.scalar_range = (-STRETCH_LIMIT_PERCENT, STRETCH_LIMIT_PERCENT)
        elif atlas:
            mapper.SelectColorArray(ATLAS_ARRAY)
            mapper.SetColorModeToDirectScalars()
        mapper.scalar_visibility = stretch or atlas

    # --- stretch colouring ---------------------------------------------------------------
    def _prepare_stretch(self, name: str, mesh: pv.PolyData, actor: pv.Actor) -> None:
        """Give a muscle a per-vertex length-change array and a shared diverging colour map."""
        structure = self.model.structures[name]
        self._fibre_of_vertex[name] = nearest_polyline(structure.vertices, structure.fibres)
        mesh.point_data[STRETCH_ARRAY] = np.zeros(mesh.n_points)
        mapper = actor.mapper
        mapper.lookup_table = self._stretch_lut()
        mapper.SetScalarModeToUsePointFieldData()
        self._colour_by(name, stretch=False)

    def _stretch_lut(self) -> pv.LookupTable:
        if not hasattr(self, "_lut"):
            self._lut = pv.LookupTable(cmap=STRETCH_CMAP, scalar_range=(-STRETCH_LIMIT_PERCENT, STRETCH_LIMIT_PERCENT))
        return self._lut

    def _update_stretch(self, name: str) -> None:
        stretch = self.model.stretch(name)
        self.meshes[name].point_data[STRETCH_ARRAY] = 100.0 * stretch[self._fibre_of_vertex[name]]

    def _on_colour_mode(self, mode: str, render: bool = True) -> None:
        stretch = mode == "stretch"
        for name in self._fibre_of_vertex:
            if stretch:
                self._update_stretch(name)
            self._colour_by(name, stretch)
        if stretch and not self._stretch_bar and self._fibre_of_vertex:
            limit = STRETCH_LIMIT_PERCENT
            self._colour_bar = ColourBar(
                self.plotter, self._stretch_lut(), (-limit, limit), STRETCH_TITLE, np.linspace(-limit, limit, 5)
            )
            self._stretch_bar = True
            self.place_overlays()
        elif not stretch and self._stretch_bar:
            self._colour_bar.remove()
            self._colour_bar = None
            self._stretch_bar = False
        if render:
            self.request_render()

    def _apply_pose(self) -> None:
        for name, structure in self.model.structures.items():
            if structure.segment is not None:
                self.actors[name].user_matrix = self.model.segment_transform(structure.segment)
            else:
                self._update_deformable(name)
        selected = self.model.selection
        if self.highlight_actor is not None and selected and self.model.structures[selected].segment is not None:
            self.highlight_actor.user_matrix = self.model.segment_transform(self.model.structures[selected].segment)

    def _update_deformable(self, name: str) -> None:
        """Move a re-shaped structure's points in place (same topology, no new actor).

        A hidden structure (a danger zone, a peeled layer) is not drawn, so its points and normals
        wait until it is shown again: a pose step pays only for what is on screen.
        """
        if not self.model.is_visible(name):
            self._stale.add(name)
            return
        self._stale.discard(name)
        mesh = self.meshes[name]
        vertices = self.model.vertices(name)
        if vertices is mesh.points or np.shares_memory(vertices, mesh.points):
            return
        mesh.points = vertices
        mesh.point_data["Normals"] = vertex_normals(vertices, self.model.structures[name].faces)
        if name in self._caution_outlines:
            self._show_caution_outline(name, True)
        if name in self._fibre_of_vertex and self.model.colour_mode == "stretch":
            self._update_stretch(name)
        if name in self.fibre_actors:
            self.fibre_actors[name].mapper.dataset.points = self._fibre_points(name)

    def _fibre_points(self, name: str) -> np.ndarray:
        return self.model.fibre_lines(name).reshape(-1, 3)

    def set_labels(self, on: bool) -> None:
        """Structure labels on/off (the names of the pins seen are laid out with them, or alone)."""
        self.labels.set_enabled(on, layout=False)
        self._refresh_labels()

    def set_pins(self, on: bool) -> None:
        """Show or hide the landmark pins (labels laid out again around them)."""
        self.pins.set_visible(on)
        self._refresh_labels()

    # --- text sizes and the 2D overlays --------------------------------------------------------
    def text_sizes(self) -> TextSizes:
        """The one rule for overlay text: printed size for exports, a share of the view height on screen."""
        width, height = self.plotter.window_size
        if self.printing:
            return print_text_sizes(width * self.print_scale, self.print_dpi).shrunk(self.print_scale)
        return screen_text_sizes(height, self.label_scale)

    def set_print(self, dpi: float | None = None, scale: int = 1) -> None:
        """Size overlay text for print: 9 pt at ``dpi`` (None: the picture fills an A4 page's width).

        ``scale``: the picture is ``scale`` times the window's size, so text is laid out that much smaller.
        """
        self.printing, self.print_dpi, self.print_scale = True, dpi, scale
        self.place_overlays()
        self._on_selection(self.model.selection)

    def place_overlays(self) -> None:
        """Re-size and re-place the danger legend and the colour bar for the current output."""
        sizes = self.text_sizes()
        window = tuple(self.plotter.window_size)
        if self._danger_legend is not None:
            legend = self._danger_legend
            texts = [legend.GetEntryString(i) for i in range(legend.GetNumberOfEntries())]
            box = legend_box(texts, sizes, window)
            legend.GetPositionCoordinate().SetCoordinateSystemToDisplay()
            legend.GetPositionCoordinate().SetValue(box.x0, box.y0)
            legend.GetPosition2Coordinate().SetCoordinateSystemToDisplay()
            legend.GetPosition2Coordinate().SetValue(box.x1 - box.x0, box.y1 - box.y0)
            legend.SetPadding(max(2, sizes.font_px // 4))
        if self._colour_bar is not None:
            self._colour_bar.place(sizes)

    def overlay_boxes(self) -> list[Box]:
        """What the labels keep clear of: orientation cube, danger legend, colour bar (display pixels)."""
        self.place_overlays()
        width, height = self.plotter.window_size
        x0, y0, x1, y1 = ORIENTATION_VIEWPORT
        boxes = [Box(x0 * width, y0 * height, x1 * width, y1 * height)]
        if self._danger_legend is not None:
            texts = [self._danger_legend.GetEntryString(i) for i in range(self._danger_legend.GetNumberOfEntries())]
            boxes.append(legend_box(texts, self.text_sizes(), (width, height)))
        if self._colour_bar is not None:
            boxes.extend(self._colour_bar.boxes())
        return boxes

    # --- the one render path -------------------------------------------------------------------
    def request_render(self) -> None:
        """Ask for a frame: every change of the scene and of every overlay comes here.

        In the window ``schedule_render`` coalesces the requests of one user change into one frame (drawn
        by :meth:`flush` when the event loop is next idle); off-screen the frame is drawn at once.
        """
        if self.schedule_render is None:
            self.flush()
        else:
            self.schedule_render()

    def _refresh_labels(self, *_args) -> None:
        """The labels are laid out again with the next frame (they read its depth buffer)."""
        if not self.labels.active and not self.labels.boxes:
            return
        self._labels_stale = True
        self.request_render()

    def flush(self) -> None:
        """Draw the pending frame; labels, when stale, are laid out first on a depth pass of the same scene."""
        if self._labels_stale:
            self._labels_stale = False
            self.labels.update()  # its depth pass is the one extra render labels cost
        if self.present is not None:
            self.present()
        else:
            self.render_now()

    def render_now(self) -> None:
        """Draw a frame now: the only call of the renderer (everything else asks :meth:`request_render`)."""
        self.plotter.render()

    def depth_pass(self) -> None:
        """Render the scene for its depth buffer without showing the frame (the labels read it).

        The back buffer is not swapped, so the window does not repaint for it. pyvista draws nothing off-screen
        until the plotter is first shown, so a plotter never shown is shown here.
        """
        plotter = self.plotter
        if isinstance(plotter, pv.Plotter) and plotter.off_screen and not plotter._rendered:
            plotter.show(auto_close=False)
            return
        window = plotter.render_window
        swap = window.GetSwapBuffers()
        window.SwapBuffersOff()
        try:
            plotter.render()
        finally:
            window.SetSwapBuffers(swap)

    def set_label_scale(self, scale: float) -> None:
        """Scale on-screen text (labels, legend, colour bar, selection name) for a projector."""
        self.label_scale = scale
        self.place_overlays()
        self._on_selection(self.model.selection)
        self._refresh_labels()

    # --- camera ------------------------------------------------------------------------
    @property
    def current_view(self) -> str:
        """The name of the last preset view set (``posterior``...)."""
        return self._current_view

    def set_view(self, view: str) -> None:
        """Look at the gluteal region from a named view (see ``viewer.render.views``)."""
        width, height = self.plotter.window_size
        aspect = width / height if width > 1 and height > 1 else 1.0  # a window not yet shown has no size
        position, focus, up = camera_for(view, aspect=aspect)
        self._current_view = view
        self.set_camera(CameraPose(tuple(position), tuple(focus), tuple(up), VIEW_ANGLE_DEG))

    def reset_view(self) -> None:
        """Back to the posterior view."""
        self.set_view("posterior")

    def camera_pose(self) -> CameraPose:
        """The camera as it is now (after the user rotated, panned or zoomed)."""
        camera = self.plotter.camera
        return CameraPose(
            tuple(camera.position), tuple(camera.focal_point), tuple(camera.up), float(camera.view_angle)
        )  # fmt: skip

    def camera_state(self) -> dict:
        """The exact camera as plain numbers (mm, degrees), as a scene document stores it."""
        pose = self.camera_pose()
        return {
            "position": [float(v) for v in pose.position],
            "focal_point": [float(v) for v in pose.focal_point],
            "up": [float(v) for v in pose.up],
            "view_angle": pose.view_angle,
        }

    def set_camera(self, pose: CameraPose | dict) -> None:
        """Put the camera exactly where ``pose`` says: the window's camera, or a scene document's
        (``{"view": name}`` framed for this picture, or exact numbers)."""
        if isinstance(pose, dict):
            if "view" in pose:
                self.set_view(pose["view"])
                return
            pose = CameraPose(
                tuple(pose["position"]), tuple(pose["focal_point"]), tuple(pose["up"]),
                float(pose.get("view_angle", VIEW_ANGLE_DEG)),
            )  # fmt: skip
        camera = self.plotter.camera
        camera.position, camera.focal_point, camera.up = pose.position, pose.focal_point, pose.up
        camera.view_angle = pose.view_angle
        self.plotter.reset_camera_clipping_range()
        self.request_render()
        if hasattr(self, "labels"):
            self._refresh_labels()

    def structure_at(self, actor: object) -> str | None:
        """Which structure an actor (from a pick) belongs to."""
        for name, candidate in self.actors.items():
            if candidate is actor:
                return name
        return None

    def pick(self, x: int, y: int) -> str | None:
        """The visible structure under display pixel (x, y) (VTK convention: origin bottom left)."""
        if not self._picker.Pick(x, y, 0, self.plotter.renderer):
            return None
        return self.structure_at(self._picker.GetActor())

    def display_position(self, point: np.ndarray) -> tuple[int, int]:
        """Display pixel (origin bottom left) where a world point is drawn."""
        renderer = self.plotter.renderer
        renderer.SetWorldPoint(*point, 1.0)
        renderer.WorldToDisplay()
        x, y, _ = renderer.GetDisplayPoint()
        return round(x), round(y)
