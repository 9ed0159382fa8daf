"""Open figures' rules: the month in the area's zone, what is counted and measured, nearest-rank
percentiles, suppression (primary and by subtraction), and the three formats."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import MIMEAccept

from services.reports import figures, figures_page
from services.reports.figures import Area, FiguresError, Row

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
MENTENG = Area("polsek", "31.71.06")
VILLAGES = ["31.71.06.1001", "31.71.06.1002", "31.71.06.1003", "31.71.06.1004", "31.71.06.1005"]
HIDDEN = ("domestic_violence",)
T0 = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)


def create_stored_report(village: str = "31.71.06.1001", category: str = "theft", status: str = "resolved",
                         ack_minutes: float | None = 3, arrive_minutes: float | None = 12,
                         **overrides) -> dict:
    """A report's facts as the store hands them to the figures (storage.figures_pipeline): its steps as
    dispatch's events stamped them."""
    steps = {"created": T0 + timedelta(minutes=1)}
    if ack_minutes is not None:
        steps["acknowledged"] = T0 + timedelta(minutes=ack_minutes)
    if arrive_minutes is not None:
        steps["on_scene"] = T0 + timedelta(minutes=arrive_minutes)
    return {"village_code": village, "category": category, "status": status, "received_at": T0,
            "by_officer": False, "steps": [steps]} | overrides


def menteng(reports: list[dict], level: Area = MENTENG) -> dict:
    return figures.figures(level, figures.month("2026-11", level, NOW), reports, HIDDEN)


# --- the month, in the area's own zone ------------------------------------------------------------

@pytest.mark.parametrize("code, zone, start", [
    ("31.71.06", "WIB", datetime(2026, 10, 31, 17, tzinfo=timezone.utc)),  # Jakarta, UTC+7
    ("51.71.01", "WITA", datetime(2026, 10, 31, 16, tzinfo=timezone.utc)),  # Denpasar, UTC+8
    ("91.71.01", "WIT", datetime(2026, 10, 31, 15, tzinfo=timezone.utc)),  # Jayapura, UTC+9
])
def test_a_month_starts_at_local_midnight_of_the_areas_zone(code, zone, start):
    month = figures.month("2026-11", figures.area("polsek", code), NOW)
    assert (month.zone, month.start) == (zone, start)
    assert month.end == start + timedelta(days=30)


def test_december_ends_at_the_next_years_first_local_midnight():
    month = figures.month("2025-12", MENTENG, NOW)
    assert month.end == datetime(2025, 12, 31, 17, tzinfo=timezone.utc)


def test_a_report_at_local_midnight_belongs_to_the_month_it_opens():
    month = figures.month("2026-11", MENTENG, NOW)
    assert month.start <= datetime(2026, 11, 1, 0, 0, tzinfo=timezone(timedelta(hours=7))) < month.end
    assert datetime(2026, 10, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=7))) < month.start


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026/11", "1999-12", "", "2026-11-01",
                                  "２０２６-11", "2026-11\n"])
def test_a_malformed_month_is_a_400(text):
    with pytest.raises(FiguresError) as raised:
        figures.month(text, MENTENG, NOW)
    assert raised.value.status == 400


def test_a_month_not_yet_begun_in_the_zone_is_a_404():
    with pytest.raises(FiguresError) as raised:
        figures.month("2027-01", MENTENG, NOW)
    assert raised.value.status == 404
    # 16:59 UTC on the last day is already the next month in Papua (WIT) but not yet in Jakarta (WIB).
    eve = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert figures.month("2026-12", figures.area("polsek", "91.71.01"), eve).label == "2026-12"
    with pytest.raises(FiguresError):
        figures.month("2026-12", MENTENG, eve)


@pytest.mark.parametrize("level, code, status", [
    ("polsek", "31.71", 400), ("polsek", "31.71.06\n", 400), ("polsek", "31.71.06.1001", 400),
    ("village", "31.71.06", 400),
    ("village", "31.71.06.<b>", 400), ("polsek", "31.71.99", 404), ("village", "31.71.06.9999", 404),
    ("kecamatan", "31.71.06", 404),
])
def test_a_bad_area_is_a_400_an_unknown_one_a_404(level, code, status):
    with pytest.raises(FiguresError) as raised:
        figures.area(level, code)
    assert raised.value.status == status
    assert "<b>" not in raised.value.reason and (status == 400 or code not in raised.value.reason)


# --- what is measured -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, median, p90", [
    ([5], 5, 5),
    ([1, 2], 1, 2),  # the lower middle one
    ([4, 1, 3, 2], 2, 4),
    (list(range(1, 11)), 5, 9),
    (list(range(1, 101)), 50, 90),
    ([10.4, 10.6, 11, 12, 13], 11, 13),
])
def test_percentiles_are_by_nearest_rank(values, median, p90):
    assert (figures.nearest_rank(values, 50), figures.nearest_rank(values, 90)) == (median, p90)


def test_no_values_have_no_percentile():
    assert figures.nearest_rank([], 50) is None


def test_acknowledgement_is_the_first_step_any_officer_took_it_on():
    report = create_stored_report(ack_minutes=None, arrive_minutes=None, steps=[
        {"created": T0, "declined": T0 + timedelta(minutes=2)},
        {"created": T0 + timedelta(minutes=3), "en_route": T0 + timedelta(minutes=7),
         "on_scene": T0 + timedelta(minutes=15)},
        {"escalated": T0 + timedelta(minutes=4)},
    ])
    measured = figures.measured(report)
    assert (measured.acknowledged, measured.arrived) == (420, 900)


def test_an_officers_own_report_awaited_nobody_and_has_no_times():
    measured = figures.measured(create_stored_report(by_officer=True))
    assert (measured.acknowledged, measured.arrived) == (None, None)


def test_a_naive_time_from_the_store_is_utc():
    report = create_stored_report(received_at=T0.replace(tzinfo=None))
    assert figures.measured(report).acknowledged == 180


def test_duplicates_held_detections_and_hidden_categories_are_not_counted():
    reports = [create_stored_report() for _ in range(5)] + [
        create_stored_report(status="duplicate"), create_stored_report(status="needs_review"),
        *[create_stored_report(category="domestic_violence") for _ in range(6)]]
    polsek = menteng(reports)["rows"][0]
    assert polsek["reports_total"] == 5 and polsek["reports"]["theft"] == 5
    assert "domestic_violence" not in polsek["reports"]


def test_times_and_share_from_five_reports_are_published():
    reports = [create_stored_report(ack_minutes=m, arrive_minutes=10 + m) for m in (1, 2, 3, 4, 5)]
    reports.append(create_stored_report(status="acknowledged", arrive_minutes=None, ack_minutes=30))
    row = menteng(reports)["rows"][0]
    assert row["acknowledged_median_seconds"] == 180 and row["acknowledged_p90_seconds"] == 1800
    assert row["arrived_median_seconds"] == 780 and row["arrived_p90_seconds"] == 900
    assert row["resolved_share"] == round(5 / 6, 3)


# --- suppression ----------------------------------------------------------------------------------

def test_fewer_than_five_reports_suppress_every_cell_built_from_them():
    row = menteng([create_stored_report() for _ in range(4)])["rows"][0]
    assert row["reports_total"] is None and row["reports"]["theft"] is None and row["resolved_share"] is None
    assert row["acknowledged_median_seconds"] is None and row["arrived_p90_seconds"] is None


def test_five_counts_but_four_measured_times_suppress_only_the_times():
    reports = [create_stored_report(ack_minutes=None if i == 0 else 3, arrive_minutes=None) for i in range(5)]
    row = menteng(reports)["rows"][0]
    assert row["reports_total"] == 5 and row["resolved_share"] == 1.0
    assert row["acknowledged_median_seconds"] is None and row["arrived_median_seconds"] is None


def test_a_lone_small_category_cannot_be_worked_out_from_the_total():
    reports = [create_stored_report() for _ in range(6)] + [create_stored_report(category="fire")]
    row = menteng(reports)["rows"][0]
    assert row["reports"]["fire"] is None
    assert None in (row["reports_total"], row["reports"]["theft"])  # total − theft would give fire


def test_a_small_village_cannot_be_worked_out_from_its_polsek():
    reports = [create_stored_report(VILLAGES[0]) for _ in range(6)] + [create_stored_report(VILLAGES[1])]
    rows = {row["code"]: row for row in menteng(reports)["rows"]}
    assert rows[VILLAGES[1]]["reports_total"] is None
    assert None in (rows["31.71.06"]["reports_total"], rows[VILLAGES[0]]["reports_total"])


def test_suppressed_cells_never_sum_to_one_to_four_on_any_shown_line():
    rows = [Row("P", "P", {"a": 14, "b": 6, "c": 2, "total": 22}),
            Row("V1", "V1", {"a": 9, "b": 3, "c": 1, "total": 13}),
            Row("V2", "V2", {"a": 5, "b": 3, "c": 1, "total": 9})]
    hidden = figures.suppressed_counts(rows, ["a", "b", "c"])
    lines = [([(i, c) for c in "abc"], (i, "total")) for i in range(3)]
    lines += [([(1, c), (2, c)], (0, c)) for c in ("a", "b", "c", "total")]
    for cells, margin in lines:
        if margin not in hidden:
            assert not 0 < sum(rows[i].counts[c] for i, c in cells if (i, c) in hidden) < 5, (cells, hidden)
    assert {(1, "c"), (2, "c"), (1, "b"), (2, "b"), (0, "c")} <= hidden


def test_a_count_suppressed_alone_on_its_line_gets_a_partner():
    """V1's theft (6) is suppressed for V1's small fire; alone in its column it would come back as
    Polsek − V2 (16 − 10), and V1's fire with it (9 − 6)."""
    rows = [Row("P", "P", {"theft": 16, "fire": 8, "total": 24}),
            Row("V1", "V1", {"theft": 6, "fire": 3, "total": 9}),
            Row("V2", "V2", {"theft": 10, "fire": 5, "total": 15})]
    hidden = figures.suppressed_counts(rows, ["theft", "fire"])
    assert {(1, "fire"), (1, "theft"), (2, "fire"), (2, "theft")} <= hidden


def test_a_villages_figures_are_its_row_of_the_polseks():
    reports = [create_stored_report(VILLAGES[0]) for _ in range(6)] + [create_stored_report(VILLAGES[1])]
    village = menteng(reports, Area("village", VILLAGES[0]))
    assert len(village["rows"]) == 1
    assert village["rows"][0] == next(row for row in menteng(reports)["rows"] if row["code"] == VILLAGES[0])


def test_the_polsek_lists_every_village_of_its_district_even_without_reports():
    assert [row["code"] for row in menteng([])["rows"]] == ["31.71.06", *VILLAGES]


# --- formats --------------------------------------------------------------------------------------

def test_a_suppressed_cell_reads_null_in_json_and_suppressed_in_csv():
    answer = menteng([create_stored_report() for _ in range(5)])
    as_json = json.loads(figures_page.render("json", answer))
    assert as_json["rows"][0]["reports"]["fire"] is None and as_json["rows"][0]["reports"]["theft"] == 5
    rows = list(csv.DictReader(io.StringIO(figures_page.render("csv", answer).decode())))
    assert rows[0]["level"] == "polsek" and rows[1]["level"] == "village"
    assert rows[0]["reports_fire"] == "suppressed" and rows[0]["reports_theft"] == "5"
    assert rows[1]["reports_total"] == "5" and rows[2]["reports_total"] == "suppressed"


def test_the_page_has_no_external_asset_and_its_style_is_allowed_by_hash():
    body = figures_page.render("html", menteng([create_stored_report() for _ in range(5)])).decode()
    assert "http://" not in body and "https://" not in body and "<script" not in body
    assert "<style>" + figures_page.STYLE + "</style>" in body
    assert "style-src 'sha256-" in figures_page.headers("html", body.encode())["Content-Security-Policy"]
    assert "Kebon Sirih" in body and figures_page.SUPPRESSED_HTML in body


@pytest.mark.parametrize("period, extension, accept, fmt", [
    ("2026-11.csv", "csv", "application/json", "csv"),
    ("2026-11", None, "text/csv", "csv"),
    ("2026-11", None, "text/html,application/xhtml+xml,*/*;q=0.8", "html"),
    ("2026-11", None, "*/*", "json"),
    ("2026-11", None, "", "json"),
    ("2026-11.json", "json", "text/html", "json"),
])
def test_the_extension_wins_then_the_accept_header(period, extension, accept, fmt):
    month, found = figures_page.split_period(period)
    assert (month, found) == ("2026-11", extension)
    accepted = MIMEAccept([(part.split(";")[0], 0.8 if "q=0.8" in part else 1) for part in accept.split(",") if part])
    assert figures_page.negotiated(found, accepted) == fmt


def test_an_unknown_extension_is_a_404():
    with pytest.raises(FiguresError) as raised:
        figures_page.split_period("2026-11.xlsx")
    assert raised.value.status == 404


def test_answers_are_publicly_cacheable_and_errors_are_checked_again():
    ok = figures_page.headers("json", b"{}")
    assert ok["Cache-Control"] == f"public, max-age={figures_page.CACHE_SECONDS}" and ok["ETag"].startswith('"')
    assert figures_page.headers("json", b"{}", 404)["Cache-Control"] == "no-cache"


# --- the entrypoints, through nameko's worker_factory (an in-memory store of the month's reports) --

class MonthOfReports:
    """The two queries the figures make of the reports store, over lists."""

    def __init__(self, reports: list[dict], visits: list[dict] = ()):
        self.reports, self.visits = reports, list(visits)

    def visits_in(self, villages, start, end):
        return [v for v in self.visits if v["village_code"] in villages and start <= v["visited_at"] < end]

    def received_in(self, villages, start, end, not_counted):
        return [r for r in self.reports if r["village_code"] in villages and start <= r["received_at"] < end
                and r["status"] not in not_counted]


def http_get(path: str, **headers: str):
    from nameko.testing.services import worker_factory
    from werkzeug.test import EnvironBuilder

    from services.reports.service import ReportsService
    from services.reports.settings import Open311Settings

    service = worker_factory(ReportsService, reports=MonthOfReports([create_stored_report() for _ in range(5)]),
                             open311_settings=Open311Settings())
    request = EnvironBuilder(path=path, headers=headers).get_request()
    if path.startswith("/figures/?") or path == "/figures/":
        return service.figures_index(request)
    level, code, period = path.removeprefix("/figures/").split("/")
    return service.open_figures(request, level, code, period)


def test_the_entrypoint_answers_json_csv_and_a_304_for_the_same_etag():
    answer = http_get("/figures/village/31.71.06.1001/2026-11.json")
    assert answer.status_code == 200 and answer.json["rows"][0]["reports_total"] == 5
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    again = http_get("/figures/village/31.71.06.1001/2026-11.json", **{"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304
    assert http_get("/figures/polsek/31.71.06/2026-11", Accept="text/csv").mimetype == "text/csv"


@pytest.mark.parametrize("path, status", [
    ("/figures/polsek/31.71.06/2026-13.json", 400), ("/figures/polsek/31.71.99/2026-11.csv", 404),
    ("/figures/village/31.71.06.1001/2999-01", 404), ("/figures/polsek/31.71.06/2026-11.xlsx", 404),
])
def test_the_entrypoint_answers_a_bad_request_with_its_reason(path, status):
    answer = http_get(path)
    assert answer.status_code == status and answer.headers["Cache-Control"] == "no-cache"


def test_the_form_is_sent_on_to_the_areas_page():
    answer = http_get("/figures/?code=31.71.06.1003&month=2026-11")
    assert answer.status_code == 303 and answer.headers["Location"] == "/figures/village/31.71.06.1003/2026-11"
    assert "<form" in http_get("/figures/").get_data(as_text=True)


def test_visits_are_counted_per_village_and_rw_and_never_suppressed():
    place = figures.area("polsek", "31.71.06")
    when = figures.month("2026-11", place, datetime(2026, 12, 3, tzinfo=timezone.utc))
    at = when.start + timedelta(days=3)
    visits = [{"village_code": "31.71.06.1001", "rw": 5, "visited_at": at},
              {"village_code": "31.71.06.1001", "rw": 5, "visited_at": at},
              {"village_code": "31.71.06.1001", "rw": None, "visited_at": at},
              {"village_code": "31.71.06.1002", "rw": 4, "visited_at": at}]
    answer = figures.figures(place, when, [], (), visits)
    rows = {row["code"]: row for row in answer["rows"]}
    assert rows["31.71.06"]["visits_total"] == 4
    assert (rows["31.71.06.1001"]["visits_total"], rows["31.71.06.1001"]["visits_by_rw"]) == (3, {"05": 2})
    assert rows["31.71.06.1003"]["visits_total"] == 0
    assert "visits_total" in figures_page.to_csv(answer).splitlines()[0]
