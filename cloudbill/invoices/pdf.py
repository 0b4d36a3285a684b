"""An issued document as a PDF: the stored document rendered through a Jinja2 HTML template
(the operator's, CLOUDBILL_INVOICE_TEMPLATE, or the default) and laid out by fpdf2, a pure
Python library from PyPI (no system packages, so a fresh `make run` can print invoices)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection

from ..kernel.errors import CloudbillError, ErrorCode
from ..notify.notices.attachments import Attachment
from . import repo

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "invoice.html"


def _template(path: str | None):  # type: ignore[no-untyped-def]
    chosen = Path(path) if path else DEFAULT_TEMPLATE
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(chosen.parent)), autoescape=True, undefined=StrictUndefined
    )
    return env.get_template(chosen.name)


def _latin1(text: str) -> str:
    # The PDF's built-in fonts cover Latin-1 only; other characters print as "?" rather
    # than failing the whole document.
    return text.encode("latin-1", "replace").decode("latin-1")


def render_html(doc: dict[str, Any], template_path: str | None) -> str:
    try:
        return _template(template_path).render(doc=doc)
    except (TemplateError, OSError) as exc:
        raise CloudbillError(
            ErrorCode.TEMPLATE_INVALID, f"the invoice template cannot be rendered: {exc}"
        ) from exc


def render_pdf(
    doc: dict[str, Any], template_path: str | None = None, font_path: str | None = None
) -> bytes:
    """`font_path`: a Unicode TrueType/OpenType font (CLOUDBILL_INVOICE_FONT, e.g. Noto Sans
    CJK for Chinese titles) embedded in the PDF; without one, the built-in Latin-1 font."""
    pdf = FPDF(format="A4")
    pdf.set_creator("cloudbill")
    html = render_html(doc, template_path)
    title = f"{doc['kind']} {doc['number']}"
    if font_path:
        try:
            for style in ("", "B", "I", "BI"):  # one file for every style the template uses
                pdf.add_font("invoice", style, font_path)
        except (OSError, RuntimeError, ValueError) as exc:
            raise CloudbillError(
                ErrorCode.TEMPLATE_INVALID, f"the invoice font cannot be loaded: {exc}"
            ) from exc
        pdf.set_title(title)
        pdf.add_page()
        pdf.set_font("invoice", size=10)
        pdf.write_html(html, font_family="invoice")
    else:
        pdf.set_title(_latin1(title))
        pdf.add_page()
        pdf.set_font("Helvetica", size=10)
        pdf.write_html(_latin1(html))
    return bytes(pdf.output())


def attachments(
    conn: Connection, data: dict[str, Any], template_path: str | None, font_path: str | None = None
) -> list[Attachment]:
    """The PDF of the document an `invoice_issued` notice tells of (rendered when it is sent)."""
    doc = repo.document(conn, data["invoice_id"])
    if doc is None:  # never: the notice is written with the document
        return []
    body = render_pdf(doc, template_path, font_path)
    return [Attachment(f"{doc['number']}.pdf", body, "application/pdf")]
