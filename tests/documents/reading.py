"""Reading documents back as a person (or a scanner) would: PDF text per page, barcodes off the rendered page."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader

DPI = 400


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, whitespace collapsed to single spaces (table cells wrap lines)."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def all_text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


@dataclass(frozen=True)
class Symbol:
    format: str
    text: str
    beside: str  # the page text printed beside the symbol (see ``read_symbols``)


def read_symbols(pdf: bytes, *, reach_in: float) -> list[list[Symbol]]:
    """Every Code 128 and DataMatrix on each page, decoded by zxing-cpp, with the text printed beside it.

    "Beside": for a Code 128, the line right under it, across its width; for a
    DataMatrix, the band of its own height running ``reach_in`` inches to its right.
    """
    document = pdfium.PdfDocument(pdf)
    scale = DPI / 72
    pages = []
    for page in document:
        height = page.get_height()
        image = page.render(scale=scale).to_pil().convert("L")
        text_page = page.get_textpage()
        found = zxingcpp.read_barcodes(
            image, formats=[zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.DataMatrix]
        )
        symbols = []
        for code in found:
            p = code.position
            xs = [pt.x / scale for pt in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            ys = [height - pt.y / scale for pt in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
            if code.format == zxingcpp.BarcodeFormat.Code128:
                rect = (left - 10, bottom - 8, right + 4, bottom)  # the quiet zone lies outside the bars
            else:
                rect = (right, bottom, right + reach_in * 72, top)
            beside = " ".join(text_page.get_text_bounded(*rect).split())
            symbols.append(Symbol(code.format.name, code.text, beside))
        pages.append(symbols)
    return pages
