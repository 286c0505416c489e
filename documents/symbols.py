"""Barcode symbols as SVG, encoded by maintained libraries (python-barcode, ppf-datamatrix).

The libraries do the encoding (Code 128 code sets and check symbol,
DataMatrix ECC 200 with its Reed-Solomon blocks); this module only draws
their modules as SVG rectangles with a ``viewBox``, so a symbol scales to
the box a label gives it and stays vector in the PDF.
"""

from __future__ import annotations

from functools import lru_cache

import barcode
from django.utils.html import escape
from django.utils.safestring import SafeString
from ppf.datamatrix import DataMatrix

CODE128_QUIET = 10  # modules each side (ISO/IEC 15417 asks for at least 10)
DATAMATRIX_QUIET = 1  # modules each side (ISO/IEC 16022 asks for at least 1)


@lru_cache(maxsize=256)
def code128_modules(data: str) -> str:
    """The bar pattern of ``data`` as Code 128 ("1" = bar module), from python-barcode."""
    return barcode.get("code128", data).build()[0]


@lru_cache(maxsize=256)
def datamatrix_modules(data: str) -> tuple[tuple[int, ...], ...]:
    """The ECC 200 module matrix of ``data`` (rows of 0/1), from ppf-datamatrix."""
    return tuple(tuple(row) for row in DataMatrix(data).matrix)


def _runs(pattern: str) -> list[tuple[int, int]]:
    """``(start, width)`` of each run of bars in a module pattern."""
    runs, start = [], None
    for index, module in enumerate(pattern + "0"):
        if module == "1" and start is None:
            start = index
        elif module != "1" and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def code128_svg(data: str, *, css_class: str = "code128") -> SafeString:
    """A Code 128 symbol of ``data`` that stretches to its box (bars keep their proportions across)."""
    pattern = code128_modules(data)
    width = len(pattern) + 2 * CODE128_QUIET
    bars = "".join(f'<rect x="{CODE128_QUIET + x}" y="0" width="{w}" height="1"/>' for x, w in _runs(pattern))
    return SafeString(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} 1" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" role="img" aria-label="{escape(data)}">'
        f'<rect x="0" y="0" width="{width}" height="1" fill="#fff"/><g fill="#000">{bars}</g></svg>'
    )


def datamatrix_svg(data: str, *, css_class: str = "datamatrix") -> SafeString:
    """A DataMatrix (ECC 200) symbol of ``data``, square modules, with its quiet zone."""
    matrix = datamatrix_modules(data)
    size = len(matrix) + 2 * DATAMATRIX_QUIET
    cells = "".join(
        f'<rect x="{DATAMATRIX_QUIET + x}" y="{DATAMATRIX_QUIET + y}" width="{w}" height="1"/>'
        for y, row in enumerate(matrix)
        for x, w in _runs("".join(str(m) for m in row))
    )
    return SafeString(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" role="img" aria-label="{escape(data)}">'
        f'<rect x="0" y="0" width="{size}" height="{size}" fill="#fff"/><g fill="#000">{cells}</g></svg>'
    )
