"""Open figures as the public reads them: JSON, CSV or a small HTML page with no external asset. No I/O.

The format is the path's extension (`.json`, `.csv`, `.html`) or, without one, the best of the Accept
header (JSON when it names none of the three). A suppressed cell reads `null` in JSON, `suppressed` in
CSV and `–` on the page. Every answer may be cached by anyone for CACHE_SECONDS (a month's figures still
move while its reports are answered) and carries an ETag of its body, so a client asking again with
If-None-Match gets a 304.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
from typing import Any

from services.reports.figures import MIN_REPORTS, TIMES, FiguresError
from shared.categories import CATEGORIES

FORMATS = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8",
           "html": "text/html; charset=utf-8"}
MEDIA_TYPES = {"application/json": "json", "text/csv": "csv", "text/html": "html"}
CACHE_SECONDS = 300
SUPPRESSED_CSV = "suppressed"
SUPPRESSED_HTML = "–"
TIME_COLUMNS = [f"{name}_{label}_seconds" for name in TIMES for label in ("median", "p90")]
STYLE = ("body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:.25em .5em;"
         "text-align:right}th:first-child,td:first-child{text-align:left}thead th{background:#f2f2f2}"
         "form{margin:1em 0}input{margin-right:.5em}small{color:#555}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# The page's own stylesheet by its hash, and a form that only reaches this server.
PAGE_CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'")


def split_period(period: str) -> tuple[str, str | None]:
    """"2026-11.csv" → ("2026-11", "csv"); 404 for an extension this does not serve."""
    month, dot, extension = period.partition(".")
    if dot and extension not in FORMATS:
        raise FiguresError(404, "format: .json, .csv or .html / format tidak dikenal")
    return month, extension or None


def negotiated(extension: str | None, accept: Any) -> str:
    """The extension, else the best of the Accept header (werkzeug's MIMEAccept), else JSON."""
    if extension:
        return extension
    best = accept.best_match(list(MEDIA_TYPES), default="application/json")
    return MEDIA_TYPES[best]


def headers(fmt: str, body: bytes, status: int = 200) -> dict[str, str]:
    """Public and cacheable: the figures carry nothing about any one person. An error is checked again
    each time (a month that has not begun yet soon will have)."""
    cache = f"public, max-age={CACHE_SECONDS}" if status == 200 else "no-cache"
    found = {"Content-Type": FORMATS[fmt], "Cache-Control": cache,
             "ETag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"', "Vary": "Accept"}
    if fmt == "html":
        found["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    return found


def render(fmt: str, figures: dict[str, Any]) -> bytes:
    if fmt == "json":
        return json.dumps(figures, ensure_ascii=False).encode()
    if fmt == "csv":
        return to_csv(figures).encode()
    return page(figures).encode()


def render_error(fmt: str, error: FiguresError) -> bytes:
    if fmt == "html":
        return page(None, error.reason).encode()
    if fmt == "csv":
        return f"error\n{error.reason}\n".encode()
    return json.dumps({"error": error.status, "reason": error.reason}, ensure_ascii=False).encode()


def columns(figures: dict[str, Any]) -> list[str]:
    return ["level", "code", "name", "month", "time_zone", "reports_total",
            *[f"reports_{c}" for c in figures["categories"]], *TIME_COLUMNS, "resolved_share", "visits_total"]


def flat(figures: dict[str, Any], row: dict[str, Any], first: bool) -> dict[str, Any]:
    level = "polsek" if figures["level"] == "polsek" and first else "village"
    return {"level": level, "code": row["code"], "name": row["name"], "month": figures["month"],
            "time_zone": figures["time_zone"], "reports_total": row["reports_total"],
            **{f"reports_{c}": row["reports"][c] for c in figures["categories"]},
            **{name: row[name] for name in TIME_COLUMNS}, "resolved_share": row["resolved_share"],
            "visits_total": row.get("visits_total", 0)}


def to_csv(figures: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(figures), lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(figures["rows"]):
        writer.writerow({key: SUPPRESSED_CSV if value is None else value
                         for key, value in flat(figures, row, i == 0).items()})
    return out.getvalue()


def page(figures: dict[str, Any] | None, problem: str | None = None) -> str:
    """The public page: a form to pick an area and month, and the figures (or why there are none)."""
    parts = [f"<!doctype html><html lang=id><head><meta charset=utf-8><title>Angka terbuka Siaga</title>"
             f"<meta name=viewport content='width=device-width'><style>{STYLE}</style></head><body>"
             "<h1>Angka terbuka / Open figures</h1>"
             "<p>Laporan per bulan per Polsek dan kelurahan/desa: jumlah per kategori, waktu sampai petugas "
             "menerima dan tiba, dan bagian yang selesai. Tanpa data pribadi; angka dari kurang dari "
             f"{MIN_REPORTS} laporan disembunyikan ({SUPPRESSED_HTML}).</p>",
             "<form method=get action='/figures/'><label>Polsek/desa <input name=code required "
             "placeholder='31.71.06 atau 31.71.06.1001' pattern='[0-9.]{8,13}'></label>"
             "<label>Bulan <input name=month required placeholder='2026-11' pattern='[0-9]{4}-[0-9]{2}'></label>"
             "<button>Lihat</button></form>"]
    if problem:
        parts.append(f"<p role=alert><strong>{html.escape(problem)}</strong></p>")
    if figures:
        parts.append(_table(figures))
    parts.append("<p><small>Median dan persentil ke-90 menurut peringkat terdekat, dalam menit. Unduh: "
                 "tambahkan .json atau .csv pada alamat halaman ini.</small></p></body></html>")
    return "".join(parts)


def _table(figures: dict[str, Any]) -> str:
    head = ["Wilayah", "Laporan", *[CATEGORIES[c].name_id for c in figures["categories"]],
            "Diterima: median", "Diterima: p90", "Tiba: median", "Tiba: p90", "Selesai", "Sambang (per RW)"]
    rows = []
    for row in figures["rows"]:
        cells = [row["reports_total"], *[row["reports"][c] for c in figures["categories"]]]
        cells += [None if row[name] is None else f"{row[name] / 60:.1f}" for name in TIME_COLUMNS]
        share = row["resolved_share"]
        cells.append(None if share is None else f"{share * 100:.0f}%")
        by_rw = ", ".join(f"RW {rw}: {n}" for rw, n in sorted((row.get("visits_by_rw") or {}).items()))
        cells.append(f"{row.get('visits_total', 0)}" + (f" ({by_rw})" if by_rw else ""))
        rows.append(f"<tr><th scope=row>{html.escape(row['name'])} <small>{html.escape(row['code'])}</small></th>"
                    + "".join(f"<td>{SUPPRESSED_HTML if cell is None else html.escape(str(cell))}</td>"
                              for cell in cells) + "</tr>")
    title = f"{html.escape(figures['name'])}, {figures['month']} ({figures['time_zone']})"
    return (f"<h2>{title}</h2><table><thead><tr>" + "".join(f"<th scope=col>{html.escape(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
