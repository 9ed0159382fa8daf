"""Archiving on the real broker and the real Mongo-wire server: what is over leaves the live collections,
the public reads still answer for it, and an event said again about it has no effect."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from pymongo import MongoClient

from services.dispatch.service import DispatchService
from services.dispatch.storage import DispatchStore
from services.notify import domain, sending
from services.notify.service import NotifyService
from services.notify.settings import SendPolicy
from services.notify.storage import NotificationStore
from services.reports.figures import MIN_REPORTS
from services.reports.service import ReportsService
from services.reports.storage import ReportStore
from shared import archive
from shared.archive import ArchiveSettings
from shared.lifecycle import CANCELLED, CLOSED_STATUSES, DUPLICATE, RESOLVED
from siaga.trace import read_traces
from tests.factories import (
    WriteCommands,
    as_event,
    create_delivery_reported,
    create_incident,
    create_report_received,
    wait_until,
)

pytestmark = pytest.mark.integration

# Seconds instead of a month: a final document moves a second after it became final.
ARCHIVE = {"AFTER_SECONDS": 1, "SECONDS": 0.2}
MENTENG = "31.71.06.1001"
T0 = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def stored_report(store: ReportStore, status: str, received_at: datetime, **place) -> dict:
    report = {"_id": f"{status}-{received_at:%d%H%M%S}", "number": "AB12CD", "status": status,
              "received_at": received_at, "category": "theft", "source_kind": "citizen_app",
              "origin": {"source": "/citizen-app/android", "id": f"origin-{status}-{received_at:%d%H%M%S}"},
              "place": {"village_code": MENTENG, "rw": 5} | place, "assignments": {}, "history": []}
    store.db.reports.insert_one(report)
    return report


# ---- the store: which reports move, and a sweep stopped half way --------------------------------------


def test_a_closed_report_received_before_the_age_moves_and_every_read_of_it_still_answers(mongo_client, db_names):
    store = ReportStore(mongo_client[db_names["reports"]])
    store.ensure_indexes()
    old = [stored_report(store, status, T0 - 2 * DAY) for status in CLOSED_STATUSES]
    open_old = stored_report(store, "en_route", T0 - 2 * DAY)
    closed_new = stored_report(store, RESOLVED, T0)

    moved = archive.sweep(store, ArchiveSettings(after=DAY), T0 + timedelta(hours=1))

    assert moved == {"reports": len(CLOSED_STATUSES)}
    assert {r["_id"] for r in store.db.reports.find()} == {open_old["_id"], closed_new["_id"]}
    assert {r["_id"] for r in store.db.reports_archive.find()} == {r["_id"] for r in old}
    resolved = old[CLOSED_STATUSES.index(RESOLVED)]
    assert store.get(resolved["_id"])["status"] == RESOLVED
    assert store.archived(resolved["_id"]) is not None and store.archived(open_old["_id"]) is None
    assert store.any_of(["not-stored", resolved["_id"]])["_id"] == resolved["_id"]
    assert len(store.find({"received_at": {"$lt": T0 + DAY}}, 100)) == len(CLOSED_STATUSES) + 2
    facts = store.received_in([MENTENG], T0 - 3 * DAY, T0 + DAY, ())
    assert sorted(f["status"] for f in facts) == sorted([*CLOSED_STATUSES, "en_route", RESOLVED])


def test_the_origin_index_of_an_earlier_version_is_dropped_and_starting_twice_is_fine(mongo_client, db_names):
    store = ReportStore(mongo_client[db_names["reports"]])
    for collection in (store.db.reports, store.db.reports_archive):
        collection.create_index("origin.id", name="origin_id")

    store.ensure_indexes()
    store.ensure_indexes()  # a second replica starting, or a restart

    for collection in (store.db.reports, store.db.reports_archive):
        assert "origin_id" not in collection.index_information()


def test_a_sweep_stopped_between_its_copy_and_its_delete_is_finished_by_the_next(mongo_client, db_names):
    store = ReportStore(mongo_client[db_names["reports"]])
    store.ensure_indexes()
    report = stored_report(store, RESOLVED, T0 - 2 * DAY)
    store.copy_to_archive("reports", store.archivable(T0 - DAY, 10)["reports"])  # then the process died
    store.db.reports.update_one({"_id": report["_id"]}, {"$set": {"note": "a late write"}})

    assert store.get(report["_id"])["note"] == "a late write"  # the live one is read
    assert archive.sweep(store, ArchiveSettings(after=DAY), T0) == {"reports": 1}
    assert store.db.reports.count_documents({}) == 0
    assert list(store.db.reports_archive.find({}, {"note": 1})) == [{"_id": report["_id"], "note": "a late write"}]
    assert archive.sweep(store, ArchiveSettings(after=DAY), T0) == {}


@pytest.fixture
def counted(mongo_uri):
    """A client whose write commands are recorded, with how many statements each carried."""
    listener = WriteCommands()
    client = MongoClient(mongo_uri, event_listeners=[listener])
    yield client, listener.statements
    client.close()


def test_a_sweep_deletes_the_sms_it_copied_in_one_command_of_short_statements_sparing_one_accepted_late(
        counted, db_names):
    """On the embedded server each statement of a delete is a commit of its own, synced to disk, holding the
    collection's lock while it runs: a sweep's chunk goes as one command, in statements short enough that the
    live work on the collection waits little between them."""
    client, statements = counted
    store = NotificationStore(client[db_names["notify"]])
    store.ensure_indexes()
    store.db.notifications.insert_many([
        {"_id": f"sms-{i:02}", "state": "delivered", "to": "+6281210010505", "created_at": T0 - 3 * DAY,
         "settled_at": T0 - 2 * DAY + timedelta(seconds=i // 2)} for i in range(20)])  # two settled each second
    copied = store.archivable(T0 - DAY, 100)["notifications"]
    store.copy_to_archive("notifications", copied)
    store.db.notifications.update_one({"_id": "sms-03"}, {"$unset": {"settled_at": ""}})  # accepted late
    statements.clear()

    assert store.delete_archived("notifications", copied) == 19
    assert statements == [("delete", 2)]  # 10 and 10 documents
    assert [sms["_id"] for sms in store.db.notifications.find()] == ["sms-03"]


def test_a_receipt_that_changes_a_settled_sms_keeps_it_from_a_sweep_that_copied_it_before(mongo_client, db_names):
    """Left unconfirmed long ago, then its receipt comes as a sweep moves it: the delivered SMS stays live, to
    move later as it now is; a receipt saying it never arrived unsettles it until its failure is told. The
    same receipt said again changes nothing."""
    store = NotificationStore(mongo_client[db_names["notify"]])
    store.ensure_indexes()
    store.db.notifications.insert_many([charged_sms(sms_id, T0 - 3 * DAY, T0 - 2 * DAY, state="unconfirmed")
                                        for sms_id in ("sms-delivered", "sms-undelivered")])
    copied = store.archivable(T0 - DAY, 10)["notifications"]
    store.copy_to_archive("notifications", copied)

    for sms_id, status in (("sms-delivered", "delivered"), ("sms-undelivered", "undelivered")):
        assert store.record_delivery(sms_id, status, f"GW-{sms_id}", T0, sending.after_delivery(status, T0))
    assert store.delete_archived("notifications", copied) == 0
    assert [store.get(sms_id)["state"] for sms_id in ("sms-delivered", "sms-undelivered")] == [
        "delivered", sending.FAILING]
    assert [sms["_id"] for sms in store.archivable(T0 + DAY, 10)["notifications"]] == ["sms-delivered"]

    delivered = store.get("sms-delivered")
    later = T0 + timedelta(hours=1)
    assert not store.record_delivery("sms-delivered", "delivered", "GW-sms-delivered", later,
                                     sending.after_delivery("delivered", later))
    assert store.get("sms-delivered") == delivered


def test_a_sweep_deletes_reports_in_one_statement_per_status_and_spares_one_whose_status_changed(
        counted, db_names):
    client, statements = counted
    store = ReportStore(client[db_names["reports"]])
    store.ensure_indexes()
    reports = [stored_report(store, status, T0 - 2 * DAY + timedelta(minutes=i))
               for i, status in enumerate([RESOLVED, RESOLVED, DUPLICATE, CANCELLED, DUPLICATE])]
    copied = store.archivable(T0 - DAY, 100)["reports"]
    store.copy_to_archive("reports", copied)
    store.db.reports.update_one({"_id": reports[2]["_id"]}, {"$set": {"status": RESOLVED}})  # after the copy
    statements.clear()

    assert store.delete_archived("reports", copied) == 4
    assert statements == [("delete", 3)]  # one command
    assert [r["_id"] for r in store.db.reports.find()] == [reports[2]["_id"]]


def test_a_report_caught_between_a_sweeps_copy_and_its_delete_is_held_once(mongo_client, db_names):
    """What a soak counts at its end while the sweeps still run: every report once, live or archived."""
    store = ReportStore(mongo_client[db_names["reports"]])
    store.ensure_indexes()
    moving, staying = stored_report(store, RESOLVED, T0 - 2 * DAY), stored_report(store, "en_route", T0)
    store.copy_to_archive("reports", [moving])  # the delete has not run yet

    assert archive.count_both(store.db.reports, {}) == 3
    assert archive.held(store.db.reports) == {moving["_id"], staying["_id"]}


def test_a_report_that_outlived_its_reporters_first_sms_still_finds_whom_to_tell(mongo_client, db_names):
    """The SMS that says whom to tell when the report resolves settled a month ago and was archived."""
    store = NotificationStore(mongo_client[db_names["notify"]])
    store.ensure_indexes()
    received = as_event(create_report_received())
    (message,) = domain.report_received_sms(received)
    stored, _ = store.add(message, T0, SendPolicy())
    store.record_delivery(stored["_id"], "delivered", "GW-1", T0, sending.after_delivery("delivered", T0))
    reporters = store.followed(received.data["report_id"])

    assert archive.sweep(store, ArchiveSettings(after=DAY), T0 + 2 * DAY) == {"notifications": 1}
    assert store.get(stored["_id"]) is None
    assert store.followed(received.data["report_id"]) == reporters is not None
    assert [sms["_id"] for sms in store.about(received.data["report_id"])] == [stored["_id"]]


def charged_sms(sms_id: str, created_at: datetime, settled_at: datetime, price: float = 350.0, **fields) -> dict:
    return {"_id": sms_id, "state": "delivered", "to": "+6281210010505", "polsek": "31.71.06", "price": price,
            "gateway_id": f"GW-{sms_id}", "created_at": created_at, "settled_at": settled_at} | fields


def test_the_months_spending_counts_each_archived_sms_once_reading_the_archive_only_where_it_grew(
        mongo_client, db_names):
    """The archive holds the month's settled SMS, a few hundred thousand at a busy month's end: a recount
    every minute must not read them all again. What it counted it never reads again; what moved since, it
    counts once; a new month starts from nothing."""
    store = NotificationStore(mongo_client[db_names["notify"]])
    store.archive = ArchiveSettings(after=DAY)
    store.ensure_indexes()
    never_taken = charged_sms("never-taken", T0 - 5 * DAY, T0 - 4 * DAY, state="failed")
    del never_taken["gateway_id"]
    store.db.notifications.insert_many([
        *(charged_sms(f"early-{i}", T0 - 5 * DAY, T0 - 4 * DAY) for i in range(3)),
        charged_sms("last-month", T0 - 30 * DAY, T0 - 29 * DAY), never_taken,
        charged_sms("recent", T0 - 2 * timedelta(hours=1), T0 - timedelta(hours=1))])
    assert archive.sweep(store, store.archive, T0) == {"notifications": 5}

    store.recount(T0)
    assert store.month_spent("31.71.06") == 4 * 350.0

    store.db.notifications_archive.insert_one(charged_sms("counted-before", T0 - 5 * DAY, T0 - 4 * DAY, 1000.0))
    store.recount(T0 + timedelta(minutes=1))
    assert store.month_spent("31.71.06") == 4 * 350.0  # the archive's counted part was not read again

    assert archive.sweep(store, store.archive, T0 + 2 * DAY) == {"notifications": 1}
    store.recount(T0 + 2 * DAY)
    assert store.month_spent("31.71.06") == 4 * 350.0  # "recent" moved: counted once, not lost

    store.db.notifications.insert_one(charged_sms("in-december", datetime(2026, 12, 1, 3, tzinfo=timezone.utc),
                                                  datetime(2026, 12, 1, 4, tzinfo=timezone.utc), 500.0))
    store.recount(datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert store.month_spent("31.71.06") == 500.0


# ---- the services: archived while running, read, and said again --------------------------------------


@pytest.fixture
def running(store, declared, container_factory, config_for):
    """reports, dispatch (demo roster) and notify, each archiving what is over for a second."""
    return {service.name: container_factory(service, config_for(service.name, ARCHIVE=ARCHIVE))
            for service in (ReportsService, DispatchService, NotifyService)}


def test_resolved_reports_their_assignments_and_sms_move_out_answer_still_and_said_again_change_nothing(
        running, tap, publish_raw, amqp_uri, mongo_uri, mongo_client, db_names, monkeypatch):
    said = tap(("reports.events", "#"), ("dispatch.events", "#"), ("notify.events", "sms_requested"))
    for container in running.values():
        container.start()
    reports, notify = ReportStore(mongo_client[db_names["reports"]]), mongo_client[db_names["notify"]]
    dispatch = DispatchStore(mongo_client[db_names["dispatch"]])
    resolved = [resolve(missing_child(), said, publish_raw, amqp_uri) for _ in range(MIN_REPORTS)]
    incident, received, created = resolved[0]
    report_id, assignment_id = created["correlationid"], created["data"]["assignment_id"]
    publish_raw(create_incident(data={"category": "theft", "location": {"village_code": "31.71.06.1003"}}))
    still_open = said.wait_for(lambda body: body["type"] == "assignment_created"
                               and body["data"]["report"]["village_code"] == "31.71.06.1003")
    for report in (created["correlationid"] for _, _, created in resolved):
        wait_until(lambda: reports.get(report), lambda r: r["status"] == RESOLVED)
    for sms in [body for body in said.drain(idle=1.0) if body["type"] == "sms_requested"]:
        publish_raw(create_delivery_reported(sms["data"]["sms_id"], "delivered"), exchange="gateway.events",
                    routing_key="sms_delivery_reported")  # as the gateway: settled

    wait_until(lambda: reports.db.reports_archive.count_documents({}), lambda n: n == MIN_REPORTS)
    wait_until(lambda: dispatch.archived_decision(assignment_id), lambda a: a["state"] == "completed")
    wait_until(lambda: notify.notifications_archive.count_documents({"report_id": report_id}),
               lambda n: n >= 2)  # the reporter's "received" and the officer's assignment SMS, at least
    assert reports.db.reports.find_one({"_id": report_id}) is None
    assert dispatch.db.assignments.find_one({"_id": assignment_id}) is None
    assert reports.db.reports.find_one({"_id": still_open["correlationid"]}) is not None  # open: it stays
    assert dispatch.decision(still_open["data"]["assignment_id"])["state"] == "created"

    web = f"http://{running['reports'].config['WEB_SERVER_ADDRESS']}"
    (request,) = requests.get(f"{web}/open311/v2/requests/{report_id}.json", timeout=10).json()
    assert (request["service_request_id"], request["status"]) == (report_id, "closed")
    listed = {r["service_request_id"] for r in requests.get(f"{web}/open311/v2/requests.json", timeout=10).json()}
    assert {report_id, still_open["correlationid"]} <= listed
    month = datetime.now(timezone.utc) + timedelta(hours=7)  # the month in Jakarta
    (menteng,) = [row for row in requests.get(f"{web}/figures/village/{MENTENG}/{month:%Y-%m}.json",
                                              timeout=10).json()["rows"] if row["code"] == MENTENG]
    assert menteng["resolved_share"] == 1.0  # shown for MIN_REPORTS reports or more: the archived five
    with ServiceRpcProxy("dispatch", {"AMQP_URI": amqp_uri}, timeout=20) as rpc:
        assert rpc.get_assignment(assignment_id)["state"] == "completed"
    for service, name in db_names.items():
        monkeypatch.setenv(f"{service.upper()}_MONGO_DATABASE", name)  # where `siaga trace` looks
    (trace,) = read_traces(created["data"]["report"]["number"], mongo_uri)
    assert trace.report["_id"] == report_id and [a["_id"] for a in trace.assignments] == [assignment_id]
    assert {sms["recipient_role"] for sms in trace.sms} >= {"reporter", "officer"}

    before = len(said.drain(idle=0.5))
    with entrypoint_waiter(running["reports"], "handle_incident_reported"):
        publish_raw(incident)  # the upstream app says it again
    with entrypoint_waiter(running["dispatch"], "handle_report_received"):
        publish_raw(received, exchange="reports.events", routing_key="report_received")
    with entrypoint_waiter(running["notify"], "handle_assignment_created"), \
            entrypoint_waiter(running["reports"], "handle_assignment_created"):
        publish_raw(created, exchange="dispatch.events", routing_key="assignment_created")

    ours = {received["id"], created["id"]}  # the tap sees what this test said again, too
    assert [body for body in said.drain(idle=0.5)[before:] if body["id"] not in ours] == []  # nothing was said
    assert reports.db.reports.find_one({"_id": report_id}) is None
    assert dispatch.db.assignments.find_one({"_id": assignment_id}) is None
    assert dispatch.db.officers.count_documents({"assignment_id": assignment_id}) == 0
    assert notify.notifications.count_documents({"report_id": report_id}) == 0


def missing_child() -> dict:
    """A category never merged as a duplicate: each is a report of its own."""
    return create_incident(data={"category": "orang hilang", "location": {"village_code": MENTENG, "rw": 5}})


def resolve(incident: dict, said, publish_raw, amqp_uri: str) -> tuple[dict, dict, dict]:
    """The incident taken, assigned and completed by the console: (incident, report_received, assignment_created)."""
    publish_raw(incident)
    received = said.wait_for(lambda body: body["type"] == "report_received"
                             and body["data"]["source_kind"] == "citizen_app" and body["causationid"] == incident["id"])
    created = said.wait_for(lambda body: body["type"] == "assignment_created"
                            and body["correlationid"] == received["data"]["report_id"])
    with ServiceRpcProxy("dispatch", {"AMQP_URI": amqp_uri}, timeout=20) as rpc:
        rpc.complete_assignment(created["data"]["assignment_id"], "anak ditemukan", by_operator="piket.menteng")
    return incident, received, created
