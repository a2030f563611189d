"""The weekly e-mails' inline chart: answered calls by the ring they were answered on (T3),
drawn on the server with Pillow as a PNG (a ``cid:`` attachment: no browser, no external image).

Text in the image is Polish, so the font must have Polish letters: DejaVu Sans, from Debian's
``fonts-dejavu-core`` (``scripts/install-deps.sh python``), found by path. Without it Pillow's
own scalable font is used and a warning logged — it has the letters but looks plainer.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

FONT_NAMES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/local/share/fonts"), Path("/usr/share/fonts"))
WIDTH, HEIGHT = 560, 220
"""The size the HTML shows it at (CSS pixels); it is drawn at :data:`SCALE` times that."""
SCALE = 2
GOOD, LATE, INK, GRID, MUTED = "#2e7d32", "#c0392b", "#1f2933", "#d9dee3", "#5f6b76"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path(name: str = FONT_NAMES[0], dirs: Sequence[Path] = FONT_DIRS) -> Path | None:
    """Where ``name`` is installed: the first of ``dirs`` that holds it (searched below
    the generic font folders), or None."""
    for folder in dirs:
        direct = folder / name
        if direct.is_file():
            return direct
    for folder in dirs[-2:]:
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob(name))), None)
            if found is not None:
                return found
    return None


@cache
def _font(size: int, bold: bool = False) -> Font:
    path = font_path(FONT_NAMES[1] if bold else FONT_NAMES[0]) or font_path()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    log.warning("DejaVu Sans not found (Debian package fonts-dejavu-core): the e-mails' chart "
                "uses Pillow's built-in font")
    return ImageFont.load_default(size)


def ring_chart_png(rings: Sequence[tuple[int, int]], target: int, *, title: str,
                   target_label: str, empty_label: str) -> bytes:
    """A bar per ring number (1., 2., …; at least up to the one after ``target``) with the
    calls answered on it above the bar; green up to ``target``, red after it, the target
    marked by a dashed line. ``rings`` as :attr:`CallFigures.rings`."""
    counts = dict(rings)
    last = max([target + 1, *counts])
    s = SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(image)
    draw.text((12 * s, 8 * s), title, fill=INK, font=_font(18 * s, bold=True))
    left, right, top, bottom = 16 * s, (WIDTH - 16) * s, 56 * s, (HEIGHT - 36) * s
    draw.line((left, bottom, right, bottom), fill=GRID, width=s)
    slot = (right - left) / last
    highest = max(counts.values(), default=0)
    small, label = _font(15 * s), _font(17 * s, bold=True)
    for ring in range(1, last + 1):
        n = counts.get(ring, 0)
        x0 = left + (ring - 1) * slot + slot * 0.18
        x1 = left + ring * slot - slot * 0.18
        height = 0 if not highest else (bottom - top - 18 * s) * n / highest
        if n:
            draw.rectangle((x0, bottom - height, x1, bottom),
                           fill=GOOD if ring <= target else LATE)
        _centred(draw, (x0 + x1) / 2, bottom - height - 21 * s, str(n), label,
                 INK if n else MUTED)
        _centred(draw, (x0 + x1) / 2, bottom + 6 * s, f"{ring}.", small, MUTED)
    edge = left + target * slot
    for y in range(int(top - 6 * s), int(bottom), 8 * s):
        draw.line((edge, y, edge, min(y + 4 * s, bottom)), fill=INK, width=s)
    draw.text((edge + 6 * s, top - 8 * s), target_label, fill=INK, font=small)
    if not highest:
        _centred(draw, (left + right) / 2, (top + bottom) / 2 - 8 * s, empty_label, label, MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _centred(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font: Font,
             fill: str) -> None:
    width = draw.textlength(text, font=font)
    draw.text((x - width / 2, y), text, fill=fill, font=font)
