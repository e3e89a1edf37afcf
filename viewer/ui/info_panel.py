"""The information panel: what the selected structure is, in words a student can use."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QTextBrowser

from viewer.model.scene import SceneModel

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


def structure_html(model: SceneModel, name: str, techniques: list | None = None) -> str:
    """HTML description of one structure from its annotation data."""
    structure = model.structures[name]
    parts = [f"<h2 style='margin-bottom:2px'>{escape(model.both_names(name))}</h2>"]
    kind = {"bone": "Bone", "muscle": "Muscle", "fascia": "Fascia", "nerve": "Nerve"}[structure.kind]
    subtitle = kind if structure.kind == "bone" else f"{kind}, {structure.layer_name} layer"
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
    if structure.kind != "bone":
        found = model.neighbours(name)
        for title, names in (("Lies under", found.over), ("Lies over", found.under), ("Alongside", found.beside)):
            if names:
                listed = ", ".join(model.structures[n].display_name for n in names)
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
    """Shows the selected structure's origin, insertion, actions, innervation and layer."""

    def __init__(self, model: SceneModel, techniques=None) -> None:
        super().__init__()
        self.model = model
        self.techniques = techniques  # a TechniqueSession, to list the techniques that work a muscle
        self.setOpenExternalLinks(False)
        self.setMinimumWidth(320)
        self.setHtml(PROMPT)
        model.selection_changed.connect(self._on_selection)
        model.pose_changed.connect(lambda _pose: self._on_selection(model.selection))
        model.language_changed.connect(lambda _language: self._on_selection(model.selection))

    def _on_selection(self, name: str | None) -> None:
        if name is None:
            self.setHtml(PROMPT)
            return
        found = self.techniques.techniques_for(name) if self.techniques is not None else []
        self.setHtml(structure_html(self.model, name, found))
