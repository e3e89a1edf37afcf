"""Help → About: version, licences (code, bones, body surface) and the published works the texts draw on."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

import viewer
from viewer.io.references import bibliography

LICENCES = (
    ("Code", "MIT licence."),
    (
        "Bones",
        "Derived from the mean adult lower-limb atlas of the musculoskeletal-models package (version 0.2.4), "
        "Mozilla Public License 2.0 (MPL-2.0). Muscle and nerve geometry and the muscle pose space are generated "
        "from those bones and carry the same MPL-2.0 notice.",
    ),
    (
        "Body surface",
        "Derived from the MakeHuman \u201chm08\u201d base mesh and macro targets (Data Collection AB, Joel Palmius, "
        "Jonas Hauquier, 2020), dedicated to the public domain under CC0 1.0.",
    ),
)


def about_html() -> str:
    """The About box: version, licences and the published works the texts draw on, as HTML."""
    works = sorted(bibliography().works.values(), key=lambda work: work.citation().lower())
    licences = "".join(f"<li><b>{name}:</b> {escape(text)}</li>" for name, text in LICENCES)
    sources = "".join(f"<li>{escape(work.citation())}</li>" for work in works)
    return (
        f"<h2>Glute Viewer {escape(viewer.__version__)}</h2>"
        "<p>A 3D atlas of the hip and gluteal region for massage and bodywork education.</p>"
        f"<h3>Licences</h3><ul>{licences}</ul>"
        f"<h3>Sources of the texts, lessons and anatomy</h3><ul>{sources}</ul>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Glute Viewer")
        self.resize(640, 520)
        layout = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(about_html())
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this window")
        layout.addWidget(buttons)
