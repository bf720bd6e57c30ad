"""Reading PDFs in tests with poppler-utils (`pdftotext`, `pdffonts`, `pdfinfo`).

Text extraction alone cannot tell a PDF whose Chinese renders as empty boxes (WeasyPrint without a
CJK font, no error) from a good one: the font check (`embedded_fonts`) is what catches that.
A missing tool fails the test with what to install; it never skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = "install poppler-utils (Debian: `apt-get install -y poppler-utils`, or `make system-deps`)"


def _run(tool: str, pdf: bytes, *args: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"`{tool}` is not installed: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "document.pdf"
        file.write_bytes(pdf)
        result = subprocess.run(
            [path, *args, str(file), *(["-"] if tool == "pdftotext" else [])],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, f"{tool} failed: {result.stderr}"
    return result.stdout


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None) -> str:
    """The text, in reading order (-layout keeps a table row on one line)."""
    args = ["-layout", "-enc", "UTF-8"]
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    return _run("pdftotext", pdf, *args)


def page_text(pdf: bytes, page: int) -> str:
    return pdf_text(pdf, first=page, last=page)


def page_count(pdf: bytes) -> int:
    found = re.search(r"^Pages:\s+(\d+)$", _run("pdfinfo", pdf), re.M)
    assert found, "pdfinfo printed no page count"
    return int(found.group(1))


@dataclass(frozen=True)
class PdfFont:
    name: str  # without the subset prefix (ABCDEF+)
    type: str
    embedded: bool


def embedded_fonts(pdf: bytes) -> list[PdfFont]:
    """Every font the PDF uses, as `pdffonts` lists it."""
    lines = _run("pdffonts", pdf).splitlines()
    assert len(lines) >= 2 and lines[1].startswith("---"), f"unexpected pdffonts output: {lines}"
    # Columns by the dashes under the header: name, type, encoding, emb, sub, uni, object ID.
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[1])]
    fonts = []
    for line in lines[2:]:
        cells = [line[start:end].strip() for start, end in spans[:4]]
        # The object id is last; the type has spaces: read emb from its column.
        fonts.append(PdfFont(name=cells[0].split("+", 1)[-1], type=cells[1], embedded=cells[3] == "yes"))
    return fonts


def assert_cjk_fonts_embedded(pdf: bytes) -> None:
    """Every font is embedded and is Noto Sans CJK SC: Chinese text renders, not as empty boxes."""
    fonts = embedded_fonts(pdf)
    assert fonts, "the PDF uses no font at all"
    assert all(font.embedded for font in fonts), fonts
    assert all(font.name.replace("-", " ").startswith("Noto Sans CJK SC") for font in fonts), fonts
