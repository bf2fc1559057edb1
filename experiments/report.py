"""One static HTML page from a results folder: every experiment's summary, tables and figures.

The page is self-contained (figures embedded as data URIs), so it opens from disk or an e-mail.
"""
from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from hippocam.errors import InputError

from .output import check_writable_file
from .populations import markdown_table as population_table

POPULATIONS_ANCHOR = "populations"

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #bbb;padding:3px 8px}
th{background:#eee}pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:0.8em}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.meta{color:#666;font-size:0.85em}
nav a{margin-right:1em}"""


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def markdown(md: str) -> str:
    """The subset of Markdown our summaries use: headings, paragraphs, tables, code blocks."""
    out, lines, i = [], md.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 1, 4)  # the page title is h1
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(set(c) <= {"-", ":"} for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>" +
                       "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body) +
                       "</table>")
        elif line.strip():
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "```")):
                para.append(lines[i])
                i += 1
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
        else:
            i += 1
    return "\n".join(out)


def populations_section() -> str:
    """The table that explains the rows of every raster (c cues, k content bits; docs/cam_spec.md §2)."""
    return markdown(
        "# Population names in the rasters\n\n"
        "A raster shows one row per neuron and a mark per spike: red rows are cue neurons, blue rows content-bit "
        "neurons, grey lines the start of each operation. For a memory of c cues and k content bits:\n\n"
        + population_table() + "\n")


def _caption(name: str) -> str:
    if name == "raster.png":
        return f" — what each population does: <a href='#{POPULATIONS_ANCHOR}'>Population names</a>"
    return ""


def experiment_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("summary.md")})


def build(root: str | Path, out: str | Path | None = None, force: bool = False) -> Path:
    """Write ``root/report.html`` (or ``out``) from every folder under ``root`` holding a summary.md."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give the results folder written by `hippocam run`")
    dirs = experiment_dirs(root)
    if not dirs:
        raise InputError(f"{root} holds no experiment results (no summary.md below it); run `hippocam run NAME` first")
    out = check_writable_file(Path(out) if out else root / "report.html", force)
    sections, nav = [], []
    for n, d in enumerate(dirs):
        anchor = f"e{n}"
        meta = ""
        result = d / "result.json"
        if result.exists():
            try:
                data = json.loads(result.read_text())
                bits = [f"{k}: {data[k]}" for k in ("experiment", "backend", "profile") if k in data]
                if "agreed" in data and "total" in data:
                    bits.append(f"operations agreeing with the oracle: {data['agreed']}/{data['total']}")
                meta = "<p class='meta'>" + html.escape("; ".join(bits)) + f" — {html.escape(str(d.relative_to(root)) or '.')}</p>"
            except (json.JSONDecodeError, OSError):
                meta = "<p class='meta'>result.json unreadable</p>"
        body = markdown((d / "summary.md").read_text())
        title = re.search(r"<h2>(.*?)</h2>", body)
        nav.append(f"<a href='#{anchor}'>{title.group(1) if title else html.escape(d.name)}</a>")
        figs = "".join(f"<figure><img alt='{html.escape(p.name)}' src='data:image/png;base64,"
                       f"{base64.b64encode(p.read_bytes()).decode()}'><figcaption class='meta'>{html.escape(p.name)}"
                       f"{_caption(p.name)}</figcaption></figure>" for p in sorted(d.glob("*.png")))
        sections.append(f"<section id='{anchor}'>{body}{meta}{figs}</section>")
        if (d / "raster.png").exists() and POPULATIONS_ANCHOR not in "".join(nav):
            # once, next to the first raster: what its rows' names mean
            nav.append(f"<a href='#{POPULATIONS_ANCHOR}'>Population names</a>")
            sections.append(f"<section id='{POPULATIONS_ANCHOR}'>{populations_section()}</section>")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>hippocam results</title>"
            f"<style>{STYLE}</style></head><body><h1>hippocam results: {html.escape(root.name)}</h1>"
            f"<nav>{''.join(nav)}</nav>{''.join(sections)}</body></html>")
    out.write_text(page)
    return out
