"""The console on the real broker and database, with the real dispatch service behind it: the board is built
from real events, actions reach dispatch by real RPC, refusals show dispatch's reason, and an operator of
another Polsek sees and does nothing here."""
from __future__ import annotations

import json

import eventlet
import pytest
from pymongo import MongoClient

from services.console.storage import ConsoleStore
from tests.factories import WriteCommands, create_report_received, of_type
from tests.factories.console import PASSWORD, ConsoleClient, base_url, console_db, console_store
from tests.factories.dispatch import PATROL_YOGA, POLISI_RW_MENTENG_RW05

pytestmark = pytest.mark.integration


@pytest.fixture
def store(console_db_store):
    """The console's own store."""
    return console_db_store


@pytest.fixture
def system(console_system):
    return console_system


@pytest.fixture
def assigned(client, publish_raw, events) -> dict:
    """A P1 report in Menteng, received and assigned; the card as the board shows it."""
    publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    created = events.wait_for(of_type("assignment_created"))["data"]
    return client.wait_for_card(lambda c: c["number"] == created["report"]["number"] and c["status"] == "assigned")


def test_the_board_shows_a_received_and_assigned_report_with_the_dispatch_reason(assigned):
    assert assigned["priority"] == "P1" and assigned["polsek"] == "31.71.06"
    assert assigned["assignment"]["officer"]["nrp"] == POLISI_RW_MENTENG_RW05
    assert assigned["assignment"]["rule"] == "area_polisi_rw"
    assert assigned["assignment"]["reason"] == "Polisi RW Menteng RW05 (wilayahnya sendiri)"  # a person reads Bahasa
    assert assigned["assignment"]["rule_reason"] == "polisi_rw of 31.71.06.1001/RW05"
    assert assigned["assignment"]["ack_deadline"] and assigned["received_at"]
    assert assigned["place"]["village_name"] == "Menteng"


def test_an_action_reaches_dispatch_by_rpc_and_the_board_follows_its_event(client, assigned, events):
    assignment_id = assigned["assignment"]["assignment_id"]
    response = client.act(assignment_id, "acknowledge")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "acknowledged"
    acknowledged = events.wait_for(of_type("assignment_acknowledged", assignment_id=assignment_id))
    assert acknowledged["data"]["via"] == "console"
    card = client.wait_for_card(lambda c: c["report_id"] == assigned["report_id"] and c["status"] == "acknowledged")
    assert card["version"] > assigned["version"]

    assert client.act(assignment_id, "complete", outcome="Korban dibawa ke RSCM").status_code == 200
    card = client.wait_for_card(lambda c: c["report_id"] == assigned["report_id"] and c["status"] == "resolved")
    assert card["open"] is False and card["resolved"]["steps"]["completed"]["outcome"] == "Korban dibawa ke RSCM"


def test_an_invalid_action_shows_dispatchs_reason(client, assigned):
    assignment_id = assigned["assignment"]["assignment_id"]
    assert client.act(assignment_id, "complete", outcome="selesai").status_code == 200
    response = client.act(assignment_id, "decline", reason="sibuk")
    assert response.status_code == 409
    assert f"report #{assigned['number']} was already completed at" in response.json()["error"]
    response = client.act(assignment_id, "decline")
    assert (response.status_code, response.json()["error"]) == (400, "Isi alasan.")


def test_reassigning_by_hand_moves_the_report_to_the_named_officer(client, assigned):
    response = client.act(assigned["assignment"]["assignment_id"], "reassign", nrp=PATROL_YOGA,
                          reason="Yoga melapor lewat radio sudah dekat")
    assert response.status_code == 200, response.text
    card = client.wait_for_card(lambda c: c["report_id"] == assigned["report_id"]
                                and (c["assignment"] or {}).get("rule") == "named_by_console")
    assert card["assignment"]["officer"]["nrp"] == PATROL_YOGA and card["status"] == "assigned"
    assert [step["state"] for step in card["timeline"]][:2] == ["created", "declined"]


def test_the_roster_comes_from_dispatch_and_filters_by_village_and_status(client, assigned):
    response = client.get("/api/officers", params={"village": "31.71.06.1001"})
    assert response.status_code == 200, response.text
    officers = {o["nrp"]: o for o in response.json()["officers"]}
    assert officers[POLISI_RW_MENTENG_RW05]["assignment"]["number"] == assigned["number"]
    response = client.get("/api/officers", params={"status": "nonsense"})
    assert response.status_code == 409 and "status 'nonsense'" in response.json()["error"]


def test_an_operator_of_another_polsek_sees_nothing_here_and_is_refused_every_action(system, assigned):
    gambir = ConsoleClient(base_url(system))
    assert gambir.log_in("piket.gambir").status_code == 200
    assert gambir.board() == []
    response = gambir.act(assigned["assignment"]["assignment_id"], "acknowledge")
    assert response.status_code == 403
    assert f"Laporan #{assigned['number']} bukan wilayah Polsek Anda" in response.json()["error"]
    assert gambir.get("/api/officers", params={"polsek": "31.71.06"}).status_code == 403


def test_no_session_no_csrf_token_or_a_wrong_password_gets_nothing(system, client, assigned, store):
    stranger = ConsoleClient(base_url(system))
    assert stranger.get("/api/board").status_code == 401
    assert stranger.get("/api/board/stream").status_code == 401
    assert stranger.log_in(password="salah-sama-sekali").status_code == 401
    assert stranger.log_in(username="nobody.here", password=PASSWORD).status_code == 401
    response = client.post(f"/api/assignments/{assigned['assignment']['assignment_id']}/acknowledge", csrf=False)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]

    login = ConsoleClient(base_url(system)).log_in()
    cookie = login.headers["Set-Cookie"]
    assert all(flag in cookie for flag in ("HttpOnly", "SameSite=Strict", "Path=/"))
    assert store.db.sessions.count_documents({}) >= 2
    assert not store.db.sessions.find_one({"_id": login.cookies["siaga_console"]})  # only digests are kept

    assert client.post("/api/logout").status_code == 200
    assert client.get("/api/board").status_code == 401


def test_the_live_stream_sends_a_snapshot_then_a_new_report_without_asking_again(client, publish_raw):
    response = client.http.get(client.url("/api/board/stream"), stream=True, timeout=10)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    messages = sse_messages(response)
    snapshot = next(messages)
    assert snapshot[0] == "snapshot" and snapshot[1]["cards"] == []

    report = create_report_received()
    publish_raw(report, exchange="reports.events", routing_key="report_received")
    with eventlet.Timeout(20):
        for kind, data in messages:
            numbers = [card["number"] for card in data.get("cards", ())]
            if kind == "changes" and report["data"]["number"] in numbers:
                break
    response.close()


def sse_messages(response):
    """(event, data) pairs from a text/event-stream response, as they arrive."""
    kind, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and kind:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def test_events_delivered_twice_change_the_board_entry_once(system, client, publish_raw, events, store):
    report = create_report_received()
    publish_raw(report, exchange="reports.events", routing_key="report_received")
    created = events.wait_for(of_type("assignment_created"))
    card = client.wait_for_card(lambda c: c["number"] == report["data"]["number"] and c["status"] == "assigned")
    publish_raw(report, exchange="reports.events", routing_key="report_received")  # redelivered
    publish_raw(created, exchange="dispatch.events", routing_key="assignment_created")
    # a later report passes through the same two queues after the repeats: once it is on the board, they were handled
    sentinel = create_report_received()
    publish_raw(sentinel, exchange="reports.events", routing_key="report_received")
    client.wait_for_card(lambda c: c["number"] == sentinel["data"]["number"] and c["status"] == "assigned")

    again = next(c for c in client.board() if c["report_id"] == card["report_id"])
    assert again["version"] == card["version"] == 2
    entry = store.db.board.find_one({"_id": report["data"]["report_id"]})
    assert len(entry["seen"]) == 2


def test_two_replicas_writing_one_board_entry_lose_no_event(store, mongo_client, db_names):
    """Each replica builds on the version it wrote last without reading; a stale guess must cost a read
    and a retry, never an event. Here the two alternate, so every guess after the first is stale."""
    from services.console import board
    from tests.factories import as_event, create_assignment_created, create_step

    other = console_store(mongo_client, db_names)
    received = create_report_received()
    created = create_assignment_created(received)
    events = [received, created, create_step("departed", created), create_step("completed", created)]
    for replica, event in zip([store, other, store, other], events):
        [change] = board.changes_from(as_event(event))
        assert replica.apply(change)
    for replica, event in zip([other, store], events[:2]):  # repeats, one remembered, one not
        [change] = board.changes_from(as_event(event))
        assert not replica.apply(change)
    entry = mongo_client[console_db(db_names)].board.find_one({"_id": received["data"]["report_id"]})
    assert entry["version"] == 4 and len(entry["seen"]) == 4
    assert entry["assignments"][0]["state"] == "completed"


@pytest.fixture
def counted_store(mongo_uri, db_names):
    writes = WriteCommands()
    client = MongoClient(mongo_uri, event_listeners=[writes])
    yield ConsoleStore(client[console_db(db_names)], linger=0.3), writes
    client.close()


def test_a_reports_receipt_and_its_assignment_a_moment_apart_are_one_board_write(counted_store):
    """What the board shows changes no sooner than a browser polls it, so the events of one report that come
    within BOARD_LINGER of each other (its receipt, its assignment ms later) are written together."""
    from services.console import board
    from tests.factories import as_event, create_assignment_created

    store, writes = counted_store
    received = create_report_received()
    [receipt] = board.changes_from(as_event(received))
    [assignment] = board.changes_from(as_event(create_assignment_created(received)))
    first = eventlet.spawn(store.apply, receipt)
    eventlet.sleep(0.01)
    with eventlet.Timeout(40):
        assert store.apply(assignment) and first.wait()
        assert not store.apply(receipt)  # said again: seen

    assert writes.commands == ["insert"]
    entry = store.db.board.find_one({"_id": received["data"]["report_id"]})
    assert entry["version"] == 2 and entry["status"] == "assigned"


def test_new_board_entries_of_reports_a_moment_apart_share_one_insert(counted_store):
    from services.console import board
    from tests.factories import as_event

    store, writes = counted_store
    receipts = [board.changes_from(as_event(create_report_received()))[0] for _ in range(3)]

    def apply_soon(receipt, after):
        eventlet.sleep(after)
        return store.apply(receipt)

    with eventlet.Timeout(40):
        applied = [eventlet.spawn(apply_soon, receipt, 0.1 * i) for i, receipt in enumerate(receipts)]
        assert all(thread.wait() for thread in applied)

    assert writes.commands == ["insert"]
    assert store.db.board.count_documents({}) == 3


def test_a_change_that_meets_no_receipt_waiting_is_written_at_once(counted_store):
    """Only a receipt waits for what follows it; a step long after (or an assignment that overtook its
    receipt) would wait for nothing."""
    from services.console import board
    from tests.factories import as_event, create_assignment_created

    store, writes = counted_store
    store.linger = 30.0
    [assignment] = board.changes_from(as_event(create_assignment_created(create_report_received())))

    with eventlet.Timeout(5):
        assert store.apply(assignment)
    assert writes.commands == ["insert"]
