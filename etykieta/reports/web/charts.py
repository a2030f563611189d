"""Charts drawn on the server as SVG: data in, markup out, no script and no style attribute.

The content security policy allows styles only from the stylesheet, so a chart is coloured by
its classes (``static/etykieta.css``) and SVG presentation attributes. Every text in a chart
is escaped here; the markup is then :class:`~markupsafe.Markup`, so the templates put it in as
it is. Each chart is an image with a ``<title>`` and an ``aria-label``; the pages show the
figures beside it or in a table under it, for screen readers and for print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

RING_W, RING_H = 420, 190
LINE_W, LINE_H = 1000, 220
PAD_L, PAD_R, PAD_T, PAD_B = 40, 14, 16, 30


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a line chart: a value (or None: no data) and its shown text per label."""

    name: str
    css: str
    values: Sequence[float | None]
    texts: Sequence[str]


@dataclass(frozen=True, slots=True)
class Mark:
    """A horizontal line across a chart at ``value`` (a target, a threshold)."""

    value: float
    css: str
    label: str


def _attrs(**values: object) -> str:
    """SVG attributes, escaped: ``class_`` is ``class``, ``text_anchor`` ``text-anchor``;
    floats with one decimal."""
    return " ".join(
        f'{name.rstrip("_").replace("_", "-")}="'
        f'{escape(f"{v:.1f}" if isinstance(v, float) else str(v))}"'
        for name, v in values.items())


def _el(tag: str, tooltip: str | None = None, **attrs: object) -> str:
    """One SVG element; with ``tooltip``, a ``<title>`` inside it (escaped)."""
    if tooltip is None:
        return f"<{tag} {_attrs(**attrs)}/>"
    return f"<{tag} {_attrs(**attrs)}><title>{escape(tooltip)}</title></{tag}>"


def _text(x: float, y: float, text: str, css: str, anchor: str = "middle") -> str:
    return f"<text {_attrs(x=x, y=y, class_=css, text_anchor=anchor)}>{escape(text)}</text>"


def _svg(width: int, height: int, title: str, css: str, body: list[str]) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="xMinYMin meet"><title>{label}</title>'
        + "".join(body) + "</svg>")


def ring_chart(rings: Sequence[tuple[int, int]], target: int, *, title: str,
               ring_names: Sequence[str], counts: Sequence[str]) -> Markup:
    """Answered calls by the ring they were answered on: a bar per ring number, those up to
    ``target`` (T3) in the ``within`` class, later ones ``late``; ``ring_names`` and
    ``counts`` are the shown labels under and above each bar."""
    shown = list(rings) or [(n, 0) for n in range(1, target + 1)]
    while len(shown) < target + 1:
        shown.append((len(shown) + 1, 0))
    top = max((n for _, n in shown), default=0) or 1
    plot_w, plot_h = RING_W - PAD_L - PAD_R, RING_H - PAD_T - PAD_B
    step = plot_w / len(shown)
    bar_w = min(46.0, step * 0.7)
    body = [_el("line", x1=PAD_L, y1=PAD_T + plot_h, x2=RING_W - PAD_R, y2=PAD_T + plot_h,
                class_="axis")]
    for index, (ring, n) in enumerate(shown):
        x = PAD_L + index * step + (step - bar_w) / 2
        h = plot_h * n / top
        y = PAD_T + plot_h - h
        css = "within" if ring <= target else "late"
        body.append(_el("rect", x=x, y=y, width=bar_w, height=h, class_=css, rx=2))
        label = ring_names[index] if index < len(ring_names) else f"{ring}."
        count = counts[index] if index < len(counts) else str(n)
        body.append(_text(x + bar_w / 2, RING_H - 10, label, "tick"))
        body.append(_text(x + bar_w / 2, y - 4, count, "value"))
    edge = PAD_L + min(target, len(shown)) * step
    body.append(_el("line", x1=edge, y1=PAD_T - 6, x2=edge, y2=PAD_T + plot_h, class_="target"))
    return _svg(RING_W, RING_H, title, "ring-chart", body)


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
               marks: Sequence[Mark] = (), top: float = 100.0) -> Markup:
    """Values from 0 to ``top`` over ``labels`` (the x axis), a line per series (gaps where a
    value is None), with ``marks`` across; each point has its text as a tooltip."""
    plot_w, plot_h = LINE_W - PAD_L - PAD_R, LINE_H - PAD_T - PAD_B
    step = plot_w / max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return PAD_T + plot_h * (1 - min(max(value, 0.0), top) / top)

    body = []
    for tick in range(0, int(top) + 1, 25):
        y = y_of(tick)
        body.append(_el("line", x1=PAD_L, y1=y, x2=LINE_W - PAD_R, y2=y, class_="grid"))
        body.append(_text(PAD_L - 6, y + 4, f"{tick}", "tick", "end"))
    for mark in marks:
        y = y_of(mark.value)
        body.append(_el("line", mark.label, x1=PAD_L, y1=y, x2=LINE_W - PAD_R, y2=y,
                        class_=mark.css))
    every = max(1, len(labels) // 12)
    for index, label in enumerate(labels):
        if index % every == 0:
            body.append(_text(PAD_L + index * step, LINE_H - 10, label, "tick"))
    for line in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(line.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((PAD_L + index * step, y_of(value)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(_el("polyline", points=points, class_="line " + line.css,
                                fill="none"))
        for index, value in enumerate(line.values):
            if value is None:
                continue
            text = line.texts[index] if index < len(line.texts) else ""
            body.append(_el("circle", f"{line.name}, {labels[index]}: {text}",
                            cx=PAD_L + index * step, cy=y_of(value), r=3.5,
                            class_="dot " + line.css))
    return _svg(LINE_W, LINE_H, title, "line-chart", body)
