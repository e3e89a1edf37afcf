"""The information panel: what the selected structure is, in words a student can use."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QTextBrowser

from viewer.model.history import History
from viewer.model.neighbours import ANATOMY_KINDS
from viewer.model.scene import SceneModel
from viewer.ui.listening import while_alive

KIND_TITLES = {
    "skin": "Skin",
    "bone": "Bone",
    "muscle": "Muscle",
    "fascia": "Fascia",
    "nerve": "Nerve",
    "danger": "Danger zone (an overlay marking where pressure is unsafe)",
}
SHOW_LINK = "show:selection"
HIDDEN_NOTES = {
    "peeled": "peeled (hidden); restore the layer to see it",
    "hidden": "hidden; tick it in the structures panel to see it",
}

SECTIONS = (
    ("origin", "Origin"),
    ("insertion", "Insertion"),
    ("actions", "Actions"),
    ("innervation", "Innervation"),
    ("layer", "Layer"),
    ("fibres", "Fibre direction"),
    ("massage_note", "For bodywork"),
    ("course", "Course"),
    ("surface_anatomy", "Surface anatomy"),
    ("variant", "Variant shown"),
    ("massage", "For bodywork"),
)
PROMPT = (
    "<p style='color:#666'>Click a muscle or bone in the view, or a row in the structures panel, to read about it.</p>"
)


def hidden_html(display_name: str, reason: str) -> str:
    """The plain warning shown over a selected structure that is not drawn, with a link to show it."""
    note = f"{display_name} — {HIDDEN_NOTES[reason]}."
    return (
        f"<p style='background:#fff3cd;color:#7a4d00;padding:4px'><b>{escape(note)}</b> "
        f"<a href='{SHOW_LINK}'>Show it</a></p>"
    )


def structure_html(
    model: SceneModel, name: str, techniques: list | None = None, hidden_reason: str | None = None
) -> str:
    """HTML description of one structure from its annotation data (every kind, skin and danger zones included).

    ``hidden_reason`` (``"peeled"`` or ``"hidden"``) puts a plain warning at the top: the selection is not drawn.
    """
    structure = model.structures[name]
    parts = [f"<h2 style='margin-bottom:2px'>{escape(model.both_names(name))}</h2>"]
    if hidden_reason is not None:
        parts.append(hidden_html(model.structure_name(name), hidden_reason))
    kind = KIND_TITLES.get(structure.kind, structure.kind.capitalize())
    layer = model.layer_of(name)
    subtitle = kind if layer is None else f"{kind} — layer {model.layers.index(layer) + 1} of {len(model.layers)}: "
    subtitle += "" if layer is None else layer.display_name
    if structure.side:
        subtitle += f", {structure.side} side"
    parts.append(f"<p style='color:#555;margin-top:0'>{escape(subtitle)}</p>")
    if structure.common_names:
        parts.append(f"<p><i>Also called:</i> {escape(', '.join(structure.common_names))}</p>")
    info = structure.info
    for key, title in SECTIONS:
        value = info.get(key)
        if not value:
            continue
        parts.append(f"<h4 style='margin-bottom:1px'>{title}</h4>")
        if isinstance(value, list):
            parts.append("<ul style='margin-top:0'>" + "".join(f"<li>{escape(str(v))}</li>" for v in value) + "</ul>")
        else:
            parts.append(f"<p style='margin-top:0'>{escape(str(value))}</p>")
    if structure.kind in ANATOMY_KINDS and structure.kind != "bone":
        found = model.neighbours(name)
        for title, names in (("Lies under", found.over), ("Lies over", found.under), ("Alongside", found.beside)):
            if names:
                listed = ", ".join(model.structure_name(n) for n in names)
                parts.append(f"<p><b>{title}:</b> {escape(listed)}</p>")
    length = model.length_mm(name)
    if length is not None:
        parts.append(f"<p><b>Mean fibre path at this pose:</b> {length:.0f} mm</p>")
    if structure.kind == "bone":
        landmarks = [n for n, bone in model.landmark_bones().items() if bone == name]
        if landmarks:
            names = ", ".join(model.landmark_display_name(n) for n in sorted(landmarks))
            parts.append(f"<h4 style='margin-bottom:1px'>Landmarks</h4><p style='margin-top:0'>{escape(names)}</p>")
    if techniques:
        titles = "".join(f"<li>{escape(t.title)}</li>" for t in techniques)
        parts.append(
            f"<h4 style='margin-bottom:1px'>Techniques that work it</h4><ul style='margin-top:0'>{titles}</ul>"
        )
    sources = model.sources(name)
    if sources:
        parts.append("<h4 style='margin-bottom:1px'>Sources</h4><ul style='margin-top:0;color:#555'>")
        parts.append("".join(f"<li>{escape(str(s))}</li>" for s in sources) + "</ul>")
    return "".join(parts)


class InfoPanel(QTextBrowser):
    """Shows the selected structure's origin, insertion, actions, innervation and layer.

    A selection that gets peeled, isolated away or unticked stays selected (the student keeps reading
    about it) and the panel says plainly that it is hidden, with a "Show it" link that brings it back.
    """

    def __init__(self, model: SceneModel, techniques=None, history: History | None = None) -> None:
        super().__init__()
        self.setToolTip("About the selected structure: attachments, actions, nerve, layer and sources")
        self.model = model
        self.techniques = techniques  # a TechniqueSession, to list the techniques that work a muscle
        self.history = history  # says why a structure is hidden and shows it again (undoably)
        self.setOpenExternalLinks(False)
        self.setOpenLinks(False)
        self.setMinimumWidth(320)
        self.setHtml(PROMPT)
        self.anchorClicked.connect(self._on_link)
        model.selection_changed.connect(self._on_selection)
        model.pose_changed.connect(self._on_pose_or_language)
        model.language_changed.connect(self._on_pose_or_language)
        model.visibility_changed.connect(self._on_visibility)

    @while_alive
    def _on_pose_or_language(self, *_args) -> None:
        self._on_selection(self.model.selection)

    @while_alive
    def _on_visibility(self, name: str, _visible: bool) -> None:
        if name == self.model.selection:
            self._on_selection(name)

    def hidden_reason(self) -> str | None:
        """``"peeled"``, ``"hidden"`` or None: whether the selection is drawn, and if not why."""
        name = self.model.selection
        if name is None or self.model.is_visible(name):
            return None
        return self.history.hidden_reason(name) if self.history is not None else "hidden"

    def show_selection(self) -> None:
        """Bring a hidden selection back (restoring the peeled layers over it); undoable."""
        name = self.model.selection
        if name is None:
            return
        if self.history is not None:
            self.history.reveal(name)
        else:
            self.model.set_visible(name, True)

    def _on_link(self, url: QUrl) -> None:
        if url.toString() == SHOW_LINK:
            self.show_selection()

    def _on_selection(self, name: str | None) -> None:
        if name is None:
            self.setHtml(PROMPT)
            return
        found = self.techniques.techniques_for(name) if self.techniques is not None else []
        self.setHtml(structure_html(self.model, name, found, self.hidden_reason()))
