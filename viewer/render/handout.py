"""Print-ready PDF handouts: 2-6 views of the scene on one A4 or Letter page, with real (selectable) text.

Each view is rendered without its text (:func:`viewer.render.export.render_picture` with ``text=False``),
placed on the page at ``dpi``, and its labels, leader lines, legend and caption are drawn over it as PDF
text and vector lines by matplotlib's PDF backend (TrueType fonts embedded, so the text can be selected
and searched). The title, notes, the technique's steps and safety check, and a footer with the sources
and the licence are text too.

A lesson handout (:func:`write_lesson_handout`) has one page per step: the step's title, its picture,
its teaching note (Markdown, printed as plain wrapped text) and the same footer.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer.model.scene import SceneModel
from viewer.render.export import ExportError, render_picture, write_file
from viewer.render.overlay import Overlay, draw_on_image
from viewer.render.scene_view import danger_legend_entries
from viewer.render.views import VIEWS

PAPERS_INCH = {"a4": (210 / 25.4, 297 / 25.4), "letter": (8.5, 11.0)}
MARGIN_INCH = 0.5
POINTS_PER_INCH = 72.0
TITLE_PT, BODY_PT, FOOTER_PT, CAPTION_PT = 15.0, 7.5, 6.0, 8.0
MAX_SOURCES = 8  # works listed in the footer; the rest are counted
LINE_SPACING = 1.35
LICENCE = (
    "Glute Viewer. Code: MIT licence. Bone meshes derived from the musculoskeletal-models project and "
    "derived muscle, skin and nerve geometry: Mozilla Public License 2.0. For education; not medical advice."
)
MIN_VIEWS, MAX_VIEWS = 2, 6
KEY_ROWS = 1  # the line kept under the pictures for the legend of a technique handout
EM_PER_CHARACTER = 0.53  # DejaVu Sans' mean advance, ems, in English names
FONT_FIT = 0.9  # DejaVu Sans runs about 10 % wider than VTK's Arial, by which the label boxes were measured


@dataclass
class HandoutSpec:
    """What goes on the page."""

    views: list[str]
    title: str = "Gluteal region"
    notes: str = ""
    paper: str = "a4"
    orientation: str = "portrait"
    labels: bool = True
    landmarks: bool = False
    dpi: float = 300.0
    techniques: object = None  # a TechniqueSession with a chosen technique, or None
    sources: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Refuse a handout with too few or too many views, or an unknown view (ExportError)."""
        if not MIN_VIEWS <= len(self.views) <= MAX_VIEWS:
            raise ExportError(f"a handout has {MIN_VIEWS} to {MAX_VIEWS} views, not {len(self.views)}")
        unknown = [v for v in self.views if v not in VIEWS]
        if unknown:
            raise ExportError(f"unknown view {unknown[0]!r}; choose from {', '.join(VIEWS)}")
        if self.paper not in PAPERS_INCH:
            raise ExportError(f"paper must be one of {', '.join(PAPERS_INCH)}, not {self.paper!r}")
        if self.orientation not in ("portrait", "landscape"):
            raise ExportError(f"orientation must be portrait or landscape, not {self.orientation!r}")


def handout_sources(model: SceneModel, session=None) -> list[str]:
    """The published works behind what the page shows: the technique's, then the shown structures', each once."""
    found = list(session.active.citations) if session is not None and session.active is not None else []
    for name in model.structures:
        if model.is_visible(name):
            found += [work for work in model.sources(name) if work not in found]
    return list(dict.fromkeys(found))


def page_size(paper: str, orientation: str) -> tuple[float, float]:
    """(width, height) of the page in inches."""
    width, height = PAPERS_INCH[paper]
    return (height, width) if orientation == "landscape" else (width, height)


def grid(count: int, orientation: str) -> tuple[int, int]:
    """(columns, rows) of the views: up to three stacked in portrait (wide pictures leave room for the labels on
    both sides), two side by side beyond that; up to three side by side in landscape."""
    columns = (1 if count <= 3 else 2) if orientation == "portrait" else min(count, 3) if count != 4 else 2
    return columns, math.ceil(count / columns)


def technique_text(session) -> list[str]:
    """The active technique in words: purpose, position, tool, angle, stroke, depth, dosage, safety, cautions."""
    technique = session.active
    _geometry, report, _zones = session.result()
    approach = technique.approach
    verdict = "FLAGGED" if report.flagged else "Safe"
    lines = [
        f"Technique: {technique.title} ({session.side} side)",
        f"Purpose: {technique.purpose}",
        f"1. Position: {technique.client_position}",
        f"2. Tool: {technique.tool}. Contact: {technique.contact.get('description', '')}",
        f"3. Angle: {approach.get('angle_to_surface_deg', report.angle_to_surface_deg):g}° to the surface"
        + (f"; {approach['heading_description']}" if approach.get("heading_description") else ""),
        f"4. Stroke: {technique.stroke.get('pattern', '')}",
        f"5. Depth: {technique.depth.get('description', '')} Dosage: {technique.dosage}",
        f"Safety check ({verdict}): {report.explanation}",
    ]
    lines += [f"Caution: {caution}" for caution in technique.cautions]
    return lines


def _wrapped(lines: list[str], width_inch: float, size_pt: float) -> list[str]:
    """Lines wrapped to a column ``width_inch`` wide (about half an em per character)."""
    characters = max(20, int(width_inch * POINTS_PER_INCH / (0.56 * size_pt)))
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, characters) or [""]
    return wrapped


def draw_overlay_text(figure, overlay: Overlay, rect: tuple[float, float, float, float]) -> None:
    """Draw an overlay as PDF vector lines and real text in the figure rectangle (x0, y0, width, height), inches."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, Rectangle

    x0, y0, width, height = rect
    page_w, page_h = figure.get_size_inches()
    px_w, px_h = overlay.size
    inch_per_px = width / px_w
    points_per_px = inch_per_px * POINTS_PER_INCH

    def to_figure(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        return np.c_[(x0 + points[:, 0] * inch_per_px) / page_w, (y0 + points[:, 1] * height / px_h) / page_h]

    for polygon in overlay.polygons:
        figure.add_artist(Polygon(to_figure(polygon.points), closed=True, facecolor=polygon.colour, edgecolor="none"))
    for lines in overlay.lines:
        for segment in lines.segments:
            xy = to_figure(segment)
            figure.add_artist(Line2D(xy[:, 0], xy[:, 1], linewidth=lines.width * points_per_px, color=lines.colour))
        if len(lines.dots):
            xy = to_figure(lines.dots)
            figure.add_artist(
                Line2D(xy[:, 0], xy[:, 1], linestyle="none", marker="o", markersize=3 * lines.width * points_per_px,
                       color=lines.colour)
            )  # fmt: skip
    for text in overlay.texts:
        (bx0, by0), (bx1, by1) = to_figure([[text.box.x0, text.box.y0], [text.box.x1, text.box.y1]])
        if text.background is not None or text.frame is not None:
            figure.add_artist(
                Rectangle(
                    (bx0, by0), bx1 - bx0, by1 - by0,
                    facecolor=text.background if text.background is not None else "none",
                    edgecolor=text.frame if text.frame is not None else "none", linewidth=0.4,
                )
            )  # fmt: skip
        x = {"left": bx0 + (bx1 - bx0) * 0.02, "center": (bx0 + bx1) / 2, "right": bx1 - (bx1 - bx0) * 0.02}
        figure.text(
            x[text.align], (by0 + by1) / 2, text.text, fontsize=text.font_px * points_per_px * FONT_FIT, color=text.colour,
            ha=text.align, va="center", multialignment=text.align,
        )  # fmt: skip


def _cell_rects(spec: HandoutSpec, page: tuple[float, float], top: float, bottom: float) -> list[tuple]:
    """(x0, y0, width, height) in inches of each view's picture, row by row from the top, with caption room."""
    columns, rows = grid(len(spec.views), spec.orientation)
    gap = 0.15
    caption = CAPTION_PT * LINE_SPACING / POINTS_PER_INCH
    cell_w = (page[0] - 2 * MARGIN_INCH - gap * (columns - 1)) / columns
    cell_h = min((top - bottom - gap * (rows - 1)) / rows - caption, cell_w * 1.1)
    rects = []
    for index in range(len(spec.views)):
        row, column = divmod(index, columns)
        x0 = MARGIN_INCH + column * (cell_w + gap)
        y0 = top - (row + 1) * (cell_h + caption) - row * gap + caption
        rects.append((x0, y0, cell_w, cell_h))
    return rects


def write_handout(model: SceneModel, out: Path, spec: HandoutSpec, progress=None) -> Path:
    """Render the views of ``spec`` and write the PDF handout atomically.

    ``progress(done, total)`` is called after each view (for a progress bar).
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    spec.check()
    out = Path(out)
    if out.suffix.lower() != ".pdf":
        raise ExportError(f"{out}: a handout must end in .pdf")
    page = page_size(spec.paper, spec.orientation)
    text_width = page[0] - 2 * MARGIN_INCH
    column_gap = 0.25
    column_width = (text_width - column_gap) / 2
    paragraphs = technique_text(spec.techniques) if spec.techniques is not None else []
    paragraphs += [f"Notes: {spec.notes}"] if spec.notes else []
    body = _wrapped(paragraphs, column_width, BODY_PT)
    columns = [body[: math.ceil(len(body) / 2)], body[math.ceil(len(body) / 2) :]]
    footer = _footer_lines(spec.sources, text_width)
    line = BODY_PT * LINE_SPACING / POINTS_PER_INCH
    footer_h = len(footer) * FOOTER_PT * LINE_SPACING / POINTS_PER_INCH
    title_h = TITLE_PT * 1.8 / POINTS_PER_INCH
    top = page[1] - MARGIN_INCH - title_h
    text_top = MARGIN_INCH + footer_h + 0.15 + len(columns[0]) * line + (0.1 if body else 0)
    # a technique's danger legend is listed once under the pictures, not in each small view
    key_rows = KEY_ROWS if spec.techniques is not None else 0
    bottom = text_top + key_rows * line + (0.1 if key_rows else 0)
    if top - bottom < 1.5:
        raise ExportError("the text does not leave room for the pictures; shorten the notes or use fewer views")

    figure = Figure(figsize=page)
    figure.text(0.5, 1 - (MARGIN_INCH + TITLE_PT / POINTS_PER_INCH) / page[1], spec.title, ha="center",
                va="baseline", fontsize=TITLE_PT, weight="bold")  # fmt: skip
    rects = _cell_rects(spec, page, top, bottom)
    for index, (view, rect) in enumerate(zip(spec.views, rects, strict=True)):
        size = (max(16, round(rect[2] * spec.dpi)), max(16, round(rect[3] * spec.dpi)))
        image, overlay = render_picture(
            model, view, size, labels=spec.labels, landmarks=spec.landmarks, techniques=spec.techniques,
            dpi=spec.dpi, text=False, legend=not key_rows,
        )  # fmt: skip
        place_picture(figure, image, overlay, rect)
        x0, y0, width, _height = rect
        figure.text((x0 + width / 2) / page[0], (y0 - 0.03) / page[1], f"{VIEWS[view].label} view", ha="center",
                    va="top", fontsize=CAPTION_PT, style="italic")  # fmt: skip
        if progress is not None:
            progress(index + 1, len(spec.views))
    if key_rows:
        _draw_key(figure, list(danger_legend_entries(model).items()), text_top + key_rows * line, text_width)
    for number, column in enumerate(columns):
        x = MARGIN_INCH + number * (column_width + column_gap)
        for row, text in enumerate(column):
            figure.text(x / page[0], (text_top - 0.1 - row * line) / page[1], text, fontsize=BODY_PT, va="top")
    _draw_footer(figure, footer)
    return _save_pdf([figure], out, spec.dpi, spec.title)


def _draw_key(figure, entries: list[tuple[str, tuple]], top: float, width: float) -> None:
    """Legend entries (text, colour) as coloured squares and text in one line below ``top`` (inches from the
    page's foot) across ``width`` from the left margin, the font made smaller (down to the footer's) to fit."""
    from matplotlib.patches import Rectangle

    if not entries:
        return
    page = figure.get_size_inches()
    characters = sum(len(text) for text, _colour in entries)
    fixed = len(entries) * (0.8 * BODY_PT / POINTS_PER_INCH + 0.26)  # squares and gaps at BODY_PT
    size = max(
        FOOTER_PT, min(BODY_PT, BODY_PT * width / (fixed + characters * EM_PER_CHARACTER * BODY_PT / POINTS_PER_INCH))
    )
    square = 0.8 * size / POINTS_PER_INCH
    y = top - BODY_PT * LINE_SPACING / POINTS_PER_INCH / 2
    x = MARGIN_INCH
    for text, colour in entries:
        figure.add_artist(
            Rectangle((x / page[0], (y - square / 2) / page[1]), square / page[0], square / page[1],
                      facecolor=colour, edgecolor="0.4", linewidth=0.3)
        )  # fmt: skip
        figure.text((x + square + 0.06) / page[0], y / page[1], text, fontsize=size, va="center")
        x += square + 0.26 + len(text) * EM_PER_CHARACTER * size / POINTS_PER_INCH


def _footer_lines(sources: Sequence[str], text_width: float) -> list[str]:
    """The footer's wrapped lines: the sources (the first :data:`MAX_SOURCES`, the rest counted) and the licence."""
    listed = "; ".join(sources[:MAX_SOURCES])
    more = len(sources) - MAX_SOURCES
    listed += f"; and {more} more works cited in the atlas." if more > 0 else ""
    return _wrapped([f"Sources: {listed}" if sources else "", LICENCE], text_width, FOOTER_PT)


def _draw_footer(figure, footer: list[str]) -> None:
    """The footer lines at the foot of the page, grey, above the bottom margin."""
    page = figure.get_size_inches()
    y = MARGIN_INCH + len(footer) * FOOTER_PT * LINE_SPACING / POINTS_PER_INCH
    for text in footer:
        figure.text(MARGIN_INCH / page[0], y / page[1], text, fontsize=FOOTER_PT, va="top", color="0.3")
        y -= FOOTER_PT * LINE_SPACING / POINTS_PER_INCH


def place_picture(figure, image: np.ndarray, overlay: Overlay, rect: tuple[float, float, float, float]) -> None:
    """Put a picture (height, width, 3) uint8 in the figure rectangle (x0, y0, width, height), inches: its lines
    and boxes drawn on the pixels, its words as PDF text over them."""
    page = figure.get_size_inches()
    pictured = Overlay(overlay.size, [], overlay.lines, overlay.polygons)
    x0, y0, width, height = rect
    axes = figure.add_axes((x0 / page[0], y0 / page[1], width / page[0], height / page[1]))
    axes.imshow(draw_on_image(image, pictured), interpolation="none")
    axes.set_axis_off()
    draw_overlay_text(figure, Overlay(overlay.size, overlay.texts), rect)


def _save_pdf(figures: list, out: Path, dpi: float, title: str) -> Path:
    """Write the figures as the pages of one PDF, atomically, with TrueType (selectable, searchable) text."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    def write(temporary: Path) -> None:
        with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(temporary, metadata={"Title": title}) as pdf:
            for figure in figures:
                pdf.savefig(figure, dpi=dpi)

    return write_file(out, write)


def markdown_plain(note: str) -> str:
    """A short Markdown note as plain text: emphasis markers, code ticks and heading marks dropped, links
    reduced to their words, lines of a paragraph joined (paragraphs kept apart by a blank line)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", note)  # [words](address) -> words
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", text)
    text = text.replace("`", "")
    text = re.sub(r"^\s{0,3}#+\s*", "", text, flags=re.MULTILINE)
    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in re.split(r"\n\s*\n", text)]
    return "\n".join(p for p in paragraphs if p)


@dataclass
class LessonHandoutSpec:
    """A lesson's pages: its title, each step's title and teaching note (Markdown), and the page settings."""

    title: str
    steps: list[tuple[str, str]]  # (step title, Markdown note)
    sources: list[str] = field(default_factory=list)
    paper: str = "a4"
    orientation: str = "portrait"
    dpi: float = 300.0


def state_picture(state, size: tuple[int, int], dpi: float) -> tuple[np.ndarray, Overlay]:
    """A scene state's picture for a handout page (its camera, labels, pins and technique), text kept apart."""
    return render_picture(
        state.scene, size=size, labels=bool(state.labels), landmarks=bool(state.landmarks),
        techniques=state.techniques if state.techniques.active else None, camera=state.camera, dpi=dpi, text=False,
    )  # fmt: skip


NOTE_PT = 10.0  # a lesson page has one picture and room for a readable note


def write_lesson_handout(
    spec: LessonHandoutSpec,
    out: Path,
    render_step: Callable[[int, tuple[int, int]], tuple[np.ndarray, Overlay]],
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """One page per lesson step, written atomically as one PDF.

    ``render_step(index, (width, height))`` returns the step's picture and its overlay
    (:func:`viewer.render.export.render_picture` with ``text=False``) with step ``index`` (from 0) applied.
    ``progress(done, total)`` is called after each page.
    """
    from matplotlib.figure import Figure

    out = Path(out)
    if out.suffix.lower() != ".pdf":
        raise ExportError(f"{out}: a handout must end in .pdf")
    if spec.paper not in PAPERS_INCH:
        raise ExportError(f"paper must be one of {', '.join(PAPERS_INCH)}, not {spec.paper!r}")
    page = page_size(spec.paper, spec.orientation)
    text_width = page[0] - 2 * MARGIN_INCH
    footer = _footer_lines(spec.sources, text_width)
    footer_h = len(footer) * FOOTER_PT * LINE_SPACING / POINTS_PER_INCH
    note_line = NOTE_PT * LINE_SPACING / POINTS_PER_INCH
    figures = []
    for index, (step_title, note) in enumerate(spec.steps):
        figure = Figure(figsize=page)
        y = page[1] - MARGIN_INCH
        heading = f"{spec.title}: step {index + 1} of {len(spec.steps)}"
        figure.text(MARGIN_INCH / page[0], y / page[1], heading, fontsize=FOOTER_PT + 1, va="top", color="0.35")
        y -= (FOOTER_PT + 1) * LINE_SPACING / POINTS_PER_INCH + 0.05
        figure.text(MARGIN_INCH / page[0], y / page[1], step_title, fontsize=TITLE_PT, va="top", weight="bold")
        y -= TITLE_PT * 1.6 / POINTS_PER_INCH
        lines = _wrapped(markdown_plain(note).split("\n"), text_width, NOTE_PT)
        room = y - (MARGIN_INCH + footer_h + 0.2) - len(lines) * note_line - 0.2
        if room < 1.5:
            raise ExportError(f"step {index + 1}'s note does not leave room for the picture; shorten it")
        height = min(room, text_width * 1.05)
        rect = (MARGIN_INCH, y - height, text_width, height)
        image, overlay = render_step(index, (max(16, round(text_width * spec.dpi)), max(16, round(height * spec.dpi))))
        place_picture(figure, image, overlay, rect)
        y -= height + 0.2
        for text in lines:
            figure.text(MARGIN_INCH / page[0], y / page[1], text, fontsize=NOTE_PT, va="top")
            y -= note_line
        _draw_footer(figure, footer)
        figures.append(figure)
        if progress is not None:
            progress(index + 1, len(spec.steps))
    return _save_pdf(figures, out, spec.dpi, spec.title)
