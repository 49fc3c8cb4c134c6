"""The support report as a PDF, through Qt's own rich text and PDF writer (QTextDocument
and QPdfWriter of QtGui: no browser engine, no new dependency).

The document is the report's HTML (reports/support_html.py); the chart, which Qt's rich
text cannot draw as inline SVG, is the same SVG drawn by QtSvg into an image at print
resolution and handed to the document as a resource. Works on any thread (nothing here is
shared with the window: every Qt object is made, used and deleted within the call) and
needs a QGuiApplication for fonts (`ensure_gui_app` makes an offscreen one for the CLI).
"""

from __future__ import annotations

import os
import sys

import shiboken6
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtSvg import QSvgRenderer

from healthdesk import __version__
from healthdesk.reports.support import SupportReport
from healthdesk.reports.support_html import (
    CHART_HEIGHT,
    CHART_WIDTH,
    render_html,
    status_chart_svg,
)

__all__ = ["ensure_gui_app", "render_pdf"]

#: Dots per inch of the PDF's layout; the chart is drawn at four times that for print.
_DPI = 96
_CHART_SCALE = 4
_CHART_URL = "healthdesk-chart:counts"


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or an offscreen one for a command without a window."""
    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QGuiApplication(sys.argv[:1])
    assert isinstance(app, QGuiApplication)
    return app


def _chart_image(report: SupportReport) -> QImage:
    renderer = QSvgRenderer(QByteArray(status_chart_svg(report.counts).encode()))
    image = QImage(
        CHART_WIDTH * _CHART_SCALE, CHART_HEIGHT * _CHART_SCALE, QImage.Format.Format_ARGB32
    )
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        renderer.render(painter)
    finally:
        painter.end()
    return image


def render_pdf(report: SupportReport) -> bytes:
    """The report as the bytes of an A4 PDF, pages numbered."""
    document = QTextDocument()
    buffer = QBuffer()
    try:
        font = QFont("DejaVu Sans")
        font.setPointSizeF(9.5)
        document.setDefaultFont(font)
        image = _chart_image(report)
        # The image is 4x the chart's size in document pixels: the <img> gives its size.
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(_CHART_URL), image)
        document.setHtml(render_html(report, chart_src=_CHART_URL))
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QPdfWriter(buffer)
        writer.setResolution(_DPI)
        writer.setTitle(f"Support report: {report.connection.name}")
        writer.setCreator(f"Health Desk {__version__}")
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Portrait,
                QMarginsF(0, 0, 0, 0),  # print_ keeps 2 cm margins itself
                QPageLayout.Unit.Millimeter,
            )
        )
        document.setPageSize(QSizeF())  # let print_ lay out per page and number them
        document.print_(writer)
        # Deleted here, on this thread: the writer's end writes the PDF's trailer.
        shiboken6.delete(writer)
        return bytes(buffer.data().data())
    finally:
        buffer.close()
        shiboken6.delete(document)
        shiboken6.delete(buffer)
