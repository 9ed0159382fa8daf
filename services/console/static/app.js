/* Siaga console: live board (server-sent events), actions, roster and a locally drawn map.
   Plain JavaScript, no libraries, nothing loaded from outside the console. Every text from the server is
   inserted as text (never as HTML). */
"use strict";

/* Labels only: every status, and which details a card carries, is decided by the server
   (services/console/board.py, from the one lifecycle in shared/lifecycle.py). */
const STATUS = {
  received: "Menunggu petugas", awaiting_officer: "Menunggu petugas berikutnya", assigned: "Menunggu konfirmasi petugas",
  acknowledged: "Dikonfirmasi", en_route: "Menuju lokasi", on_scene: "Di lokasi", escalated: "Dieskalasi ke piket",
  resolved: "Selesai", duplicate: "Laporan ganda", cancelled: "Dibatalkan",
};
const STEP = {
  created: "ditugaskan", acknowledged: "dikonfirmasi", en_route: "menuju lokasi", on_scene: "di lokasi",
  completed: "selesai", declined: "ditolak", expired: "tidak dikonfirmasi (batas waktu lewat)", escalated: "dieskalasi",
  cancelled: "dibatalkan",
};
const RULE = {
  area_polisi_rw: "Polisi RW wilayah", area_bhabinkamtibmas: "Bhabinkamtibmas kelurahan",
  adjacent_bhabinkamtibmas: "Bhabinkamtibmas desa tetangga",
  nearest_skilled: "Petugas terdekat yang sesuai", reporting_officer: "Petugas pelapor (sudah di lokasi)",
  named_by_console: "Dipilih operator konsol",
};
const ROLE = { polisi_rw: "Polisi RW", bhabinkamtibmas: "Bhabinkamtibmas", patrol_unit: "Unit patroli",
               duty_desk: "Piket (SPKT)" };
const OFFICER_STATUS = { off_duty: "Lepas dinas", available: "Siaga (bebas)", assigned: "Ditugaskan",
                         en_route: "Menuju lokasi", on_scene: "Di lokasi", unavailable: "Tidak tersedia" };
const VIA = { console: "konsol", sms: "SMS", officer_app: "aplikasi", system: "sistem" };
const SOURCE = { citizen_app: "aplikasi warga", hotline_110: "110", cctv: "CCTV", siskamling: "pos siskamling",
                 patrol: "patroli", open311: "Open311", patrol_dialog: "sambang (patroli dialogis)" };
const BUTTONS = {  // what a duty officer can do for the assigned officer, by assignment state
  created: ["acknowledge", "en_route", "on_scene", "decline", "reassign"],
  acknowledged: ["en_route", "on_scene", "complete", "decline", "reassign"],
  en_route: ["on_scene", "complete", "reassign"],
  on_scene: ["complete", "reassign"],
};
const ACTION = {
  acknowledge: "Konfirmasi", decline: "Tolak…", en_route: "Menuju lokasi", on_scene: "Di lokasi",
  complete: "Selesai…", reassign: "Pindahkan…",
};
const DESK_OUTCOME = {  // how the duty desk closes an escalated report itself (dispatch checks the code)
  handled_by_desk: "Ditangani SPKT", referred_to_polres: "Diteruskan ke Polres", false_report: "Laporan palsu",
  no_action_needed: "Tidak perlu tindakan polisi",
};

const state = {
  me: null, cards: new Map(), clockOffset: 0, source: null, view: "board", roster: [], areas: null,
  fresh: new Set(), toastTimer: null, spendTimer: null, loads: {},
};

/* ---------------------------------------------------------------- small helpers */

const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const serverNow = () => Date.now() + state.clockOffset;
const zone = () => (state.me && state.me.polseks[0]) || { zone: "WIB", utc_offset: 7 };

function clock(iso) {
  if (!iso) return "—";
  const local = new Date(new Date(iso).getTime() + zone().utc_offset * 3600e3);
  return `${local.toISOString().slice(11, 16)} ${zone().zone}`;
}

function ago(iso) {
  const minutes = Math.max(0, Math.floor((serverNow() - new Date(iso).getTime()) / 60e3));
  if (minutes < 1) return "baru saja";
  if (minutes < 60) return `${minutes} mnt lalu`;
  return `${Math.floor(minutes / 60)} j ${minutes % 60} mnt lalu`;
}

function countdown(iso) {
  const seconds = Math.round((new Date(iso).getTime() - serverNow()) / 1000);
  const abs = Math.abs(seconds);
  const text = `${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return { seconds, text: seconds >= 0 ? text : `lewat ${text}` };
}

function toast(text, bad) {
  const node = $("toast");
  node.textContent = text;
  node.className = bad ? "toast bad" : "toast";
  node.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => { node.hidden = true; }, bad ? 9000 : 3500);
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: {}, ...options };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  if (state.me) init.headers["X-CSRF-Token"] = state.me.csrf;
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && path !== "/api/login") { showLogin(data && data.error); }
  if (!response.ok) {
    const error = new Error((data && data.error) || `Server menjawab ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

/* A reload's answer can arrive after a later one's (a slow RPC, a loaded server): each loader shows only its
   newest request's answer, so a periodic reload never paints over what the reload after a save has shown. */
function newest(loader) {
  const ticket = (state.loads[loader] = (state.loads[loader] || 0) + 1);
  return () => state.loads[loader] === ticket;
}

/* ---------------------------------------------------------------- login */

function showLogin(message) {
  if (state.source) { state.source.close(); state.source = null; }
  state.me = null;
  $("app").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("username").focus();
}

async function logIn(event) {
  event.preventDefault();
  try {
    state.me = await api("/api/login", { method: "POST",
      body: { username: $("username").value, password: $("password").value } });
    $("password").value = "";
    showApp();
  } catch (error) {
    showLogin(error.message);
  }
}

async function logOut() {
  try { await api("/api/logout", { method: "POST", body: {} }); } catch (e) { /* already gone */ }
  state.cards.clear();
  showLogin("Anda sudah keluar.");
}

/* ---------------------------------------------------------------- the app shell */

function showApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("operator-name").textContent = state.me.name;
  $("polsek-name").textContent = state.me.polseks.map((p) => `Polsek ${p.name}`).join(", ");
  const polsek = $("filter-polsek");
  polsek.replaceChildren(...state.me.polseks.map((p) => h("option", { value: p.code }, `${p.name} (${p.code})`)));
  fillVillages();
  fillCommunityForms();
  loadCoverage();
  connect();
  switchView(state.view);
  loadSpending();
  clearInterval(state.spendTimer);
  state.spendTimer = setInterval(loadSpending, 60000);
}

/* What the Polsek's SMS cost: today, this month, and the budget (a warning from 80%; past it reporters'
   updates are held while officers and the duty desk still get theirs). */
const rupiah = (value) => `Rp ${Math.round(value).toLocaleString("id-ID")}`;

async function loadSpending() {
  if (!state.me) return;
  const node = $("sms-spend");
  const current = newest("spending");
  try {
    const s = await api(`/api/sms?polsek=${encodeURIComponent(state.me.polseks[0].code)}`);
    if (!current()) return;
    const share = Math.round(s.share * 100);
    let text = `SMS hari ini: ${s.today.sms} (${rupiah(s.today.rupiah)}) · bulan ini: ${s.month.sms} ` +
      `(${rupiah(s.month.rupiah)} dari anggaran ${rupiah(s.budget)}, ${share}%)`;
    if (s.state === "warning") text += " — anggaran SMS hampir habis.";
    if (s.state === "over") {
      text += ` — anggaran SMS habis: ${s.held_reporter_updates} kabar untuk pelapor ditahan; ` +
        "petugas dan piket tetap menerima SMS.";
    }
    node.textContent = text;
    node.className = `sms-spend ${s.state}`;
    node.hidden = false;
  } catch (error) {
    node.hidden = true;  // notify away: the board still works
  }
}

function switchView(view) {
  state.view = view;
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  for (const name of ["board", "map", "roster", "community"]) $(`view-${name}`).hidden = name !== view;
  if (view === "roster" || view === "map" || view === "community") loadRoster();
  if (view === "community") loadCommunity();
  if (view === "map") { if (!state.coverage) loadCoverage(); drawMap(); }
}

async function loadCoverage() {
  const current = newest("coverage");
  try {
    const coverage = await api(`/api/community/coverage?polsek=${communityPolsek().code}`);
    if (!current()) return;
    state.coverage = coverage;
    $("stale-count").textContent = state.coverage.stale_count;
    if (state.view === "map") drawMap();
  } catch (error) { state.coverage = { villages: [] }; }
}

/* ---------------------------------------------------------------- the live board */

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource("/api/board/stream");
  state.source = source;
  setLive("Menyambung…", "");
  source.addEventListener("open", () => setLive("Langsung", "on"));
  source.addEventListener("snapshot", (event) => {
    const data = JSON.parse(event.data);
    state.cards.clear();
    merge(data, false);
  });
  source.addEventListener("changes", (event) => merge(JSON.parse(event.data), true));
  source.addEventListener("logged_out", (event) => showLogin(JSON.parse(event.data).error));
  source.addEventListener("error", async () => {
    setLive("Terputus — menyambung ulang…", "off");
    if (source.readyState === EventSource.CLOSED) {  // refused (e.g. the session ended): find out why
      try {
        const me = await api("/api/me");
        if (me.logged_in) setTimeout(connect, 3000); else showLogin("Sesi berakhir: silakan masuk lagi.");
      } catch (e) { setTimeout(connect, 3000); }  // the console itself is away: keep trying
    }
  });
}

function setLive(text, cls) {
  $("live-text").textContent = text;
  $("live").className = `live ${cls}`;
}

function merge(data, live) {
  state.clockOffset = new Date(data.now).getTime() - Date.now();
  for (const card of data.cards) {
    const known = state.cards.get(card.report_id);
    if (known && known.version >= card.version) continue;  // an older copy arriving late
    if (live && !known && card.priority === "P1") state.fresh.add(card.report_id);
    state.cards.set(card.report_id, card);
  }
  renderBoard();
  if (state.view === "map") drawMap();
}

function visibleCards() {
  const showClosed = $("show-closed").checked;
  const rank = { P1: 0, P2: 1, P3: 2, P4: 3 };
  return [...state.cards.values()]
    .filter((c) => c.status !== "duplicate" && (c.open || showClosed))
    .sort((a, b) => (a.open === b.open ? 0 : a.open ? -1 : 1)
      || (rank[a.priority] ?? 9) - (rank[b.priority] ?? 9)
      || String(a.received_at).localeCompare(String(b.received_at)));
}

function renderBoard() {
  const cards = visibleCards();
  $("board").replaceChildren(...cards.map(renderCard));
  $("board-empty").hidden = cards.length > 0;
  $("open-count").textContent = [...state.cards.values()].filter((c) => c.open && c.status !== "duplicate").length;
  state.fresh.clear();
  tick();
}

function renderCard(card) {
  const a = card.assignment;
  const place = card.place || {};
  const where = [place.village_name || place.village_code, place.rw ? `RW ${String(place.rw).padStart(2, "0")}` : null,
                 place.address].filter(Boolean).join(", ");
  const classes = ["card", (card.priority || "").toLowerCase(), card.open ? "open" : "closed",
                   state.fresh.has(card.report_id) ? "fresh" : ""].join(" ");
  return h("article", { class: classes, "data-report": card.report_id, "data-number": card.number,
                        "data-status": card.status },
    h("div", { class: "card-head" },
      h("span", { class: `prio ${card.priority}` }, card.priority),
      h("span", { class: "number" }, `#${card.number}`),
      h("span", { class: "category" }, card.category_name),
      h("span", { class: `status ${card.status}`, "data-role": "status" }, STATUS[card.status] || card.status)),
    h("div", { class: "place" }, where || "lokasi tidak diketahui"),
    card.description ? h("div", { class: "desc" }, card.description) : null,
    h("div", { class: "meta muted" },
      `Dilaporkan ${clock(card.received_at)} (`, h("span", { "data-ago": card.received_at }, ago(card.received_at)),
      `) via ${SOURCE[card.source_kind] || card.source_kind || "?"}`,
      card.reporter && card.reporter.name ? ` · pelapor ${card.reporter.name}` : "",
      card.reporter && card.reporter.phone ? ` ${card.reporter.phone}` : "",
      card.duplicates.length ? ` · +${card.duplicates.length} laporan serupa` : ""),
    a ? officerBlock(a) : null,
    card.resolved ? h("div", { class: "reason" }, h("b", {}, "Hasil: "),
      (card.resolved.steps.completed || {}).outcome || "selesai", ` — ${officerName(card.resolved.officer)}`) : null,
    card.last_ended ? h("div", { class: "reason" },
      h("b", {}, `${officerName(card.last_ended.officer)} ${STEP[card.last_ended.state]}: `),
      noteOf(card.last_ended) || "", " — mencari petugas berikutnya…") : null,
    card.cancellation ? h("div", { class: "reason" }, h("b", {}, "Dibatalkan: "),
      card.cancellation.reason, ` — ${card.cancellation.by}`) : null,
    card.escalation ? h("div", { class: "reason" },
      h("b", {}, "Eskalasi ke piket: "), card.escalation.reason,
      card.escalation.duty_desk ? ` (${card.escalation.duty_desk.name}, ${card.escalation.duty_desk.phone})` : "",
      (card.escalation.rules || []).length ? h("code", { class: "rule" }, ` ${card.escalation.rules.join(", ")}`) : null)
      : null,
    history(card),
    h("div", { class: "buttons" },
      ...(a ? (BUTTONS[a.state] || []).map((action) =>
        h("button", { class: action === "acknowledge" ? "primary" : "", "data-action": action,
                      onclick: () => act(card, action) }, ACTION[action])) : []),
      card.open && card.status === "escalated" ? h("button", { class: "primary", "data-action": "send",
        onclick: () => deskAct(card, "send") }, "Kirim petugas…") : null,
      card.open && card.status === "escalated" ? h("button", { "data-action": "close",
        onclick: () => deskAct(card, "close") }, "Tutup oleh piket…") : null,
      card.open ? h("button", { class: "danger", "data-action": "cancel", onclick: () => cancelReport(card) },
        "Batalkan laporan…") : null));
}

function officerBlock(a) {
  const deadline = a.state === "created" && a.ack_deadline
    ? h("div", { class: "meta" }, "Batas konfirmasi ", clock(a.ack_deadline), ": ",
        h("span", { class: "deadline", "data-deadline": a.ack_deadline }, countdown(a.ack_deadline).text))
    : null;
  const officer = a.officer || {};
  return h("div", {},
    h("div", { class: "meta" }, h("b", {}, officerName(officer)),
      officer.role ? ` · ${ROLE[officer.role] || officer.role}` : "", officer.phone ? ` · ${officer.phone}` : "",
      a.attempt > 1 ? ` · percobaan ke-${a.attempt}` : ""),
    deadline,
    h("div", { class: "reason" }, h("b", {}, `Alasan dispatch: ${RULE[a.rule] || a.rule || "?"}. `), a.reason || "",
      a.skipped ? ` (${a.skipped} petugas dilewati)` : "", a.rule ? h("code", { class: "rule" }, ` ${a.rule}`) : null));
}

const officerName = (officer) => (officer ? `${officer.name || officer.nrp}` : "petugas");
const noteOf = (a) => { const step = a.steps[a.state] || {}; return step.reason || step.outcome; };

function history(card) {
  if (!card.timeline.length) return null;
  return h("details", { class: "history" }, h("summary", {}, `Riwayat (${card.timeline.length})`),
    h("ol", {}, ...card.timeline.map((step) => h("li", {}, `${clock(step.at)} — `,
      step.officer ? `${step.officer} ` : "", STEP[step.state] || step.state,
      step.via && step.via !== "system" ? ` (via ${VIA[step.via] || step.via}${step.by ? `, oleh ${step.by}` : ""})` : "",
      step.note ? `: ${step.note}` : ""))));
}

function tick() {
  for (const node of document.querySelectorAll("[data-deadline]")) {
    const left = countdown(node.dataset.deadline);
    node.textContent = left.text;
    node.className = `deadline ${left.seconds < 0 ? "late" : left.seconds < 30 ? "soon" : ""}`;
  }
  for (const node of document.querySelectorAll("[data-ago]")) node.textContent = ago(node.dataset.ago);
}

/* ---------------------------------------------------------------- actions */

async function act(card, action) {
  const a = card.assignment;
  let body = {};
  if (action === "decline" || action === "complete" || action === "reassign") {
    body = await askFor(card, action);
    if (!body) return;
  }
  try {
    await api(`/api/assignments/${encodeURIComponent(a.assignment_id)}/${action}`, { method: "POST", body });
    toast(`#${card.number}: ${ACTION[action].replace("…", "")} — tercatat.`);
  } catch (error) {
    toast(`#${card.number}: ditolak — ${error.message}`, true);
  }
}

async function cancelReport(card) {
  const body = await askFor(card, "cancel");
  if (!body) return;
  try {
    await api(`/api/reports/${encodeURIComponent(card.report_id)}/cancel`, { method: "POST", body });
    toast(`#${card.number}: laporan dibatalkan — tercatat.`);
  } catch (error) {
    toast(`#${card.number}: ditolak — ${error.message}`, true);
  }
}

async function deskAct(card, action) {
  const body = await askFor(card, action);
  if (!body) return;
  try {
    await api(`/api/reports/${encodeURIComponent(card.report_id)}/${action}`, { method: "POST", body });
    toast(`#${card.number}: ${action === "send" ? "petugas dikirim" : "ditutup oleh piket"} — tercatat.`);
  } catch (error) {
    toast(`#${card.number}: ditolak — ${error.message}`, true);
  }
}

async function askFor(card, action) {
  const dialog = $("dialog");
  const officer = () => officerName(card.assignment.officer);
  const texts = {
    decline: () => ["Tolak penugasan", `Petugas ${officer()} menolak laporan #${card.number}. Laporan akan diteruskan ke petugas berikutnya.`, "Alasan"],
    complete: () => ["Selesaikan laporan", `Laporan #${card.number} selesai ditangani oleh ${officer()}.`, "Hasil penanganan"],
    reassign: () => ["Pindahkan ke petugas lain", `Laporan #${card.number} dipindahkan dari ${officer()} ke petugas yang siaga.`, "Alasan"],
    send: () => ["Kirim petugas", `Piket mengirim petugas yang siaga ke laporan #${card.number}; petugas menerima SMS dan harus mengonfirmasi.`, "Alasan"],
    close: () => ["Tutup oleh piket", `Laporan #${card.number} ditangani piket sendiri; pelapor menerima SMS hasilnya.`, "Catatan (boleh kosong)"],
    cancel: () => ["Batalkan laporan", `Laporan #${card.number} dibatalkan (final)${card.assignment ? `; ${officer()} dibebaskan dari penugasan` : ""}. Tidak ada petugas lain yang ditugaskan.`, "Alasan pembatalan"],
  }[action]();
  $("dialog-title").textContent = texts[0];
  $("dialog-text").textContent = texts[1];
  $("dialog-note-name").textContent = texts[2];
  $("dialog-note").value = "";
  $("dialog-note").maxLength = action === "complete" ? 500 : 280;
  $("dialog-officer-label").hidden = action !== "reassign" && action !== "send";
  $("dialog-outcome-label").hidden = action !== "close";
  if (action === "close") {
    $("dialog-outcome").replaceChildren(...Object.entries(DESK_OUTCOME).map(([code, label]) =>
      h("option", { value: code }, label)));
  }
  if (action === "reassign" || action === "send") {
    const select = $("dialog-officer");
    select.replaceChildren(h("option", { value: "" }, "Memuat…"));
    api(`/api/officers?polsek=${encodeURIComponent(card.polsek)}&status=available`).then((data) => {
      const free = data.officers.filter((o) => o.role !== "duty_desk");
      select.replaceChildren(...(free.length ? free.map((o) => h("option", { value: o.nrp },
        `${o.name} — ${ROLE[o.role] || o.role}${o.on_shift ? "" : " (di luar jadwal)"}`))
        : [h("option", { value: "" }, "Tidak ada personel siaga")]));
    }).catch((error) => select.replaceChildren(h("option", { value: "" }, error.message)));
  }
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "ok") return null;
  const note = $("dialog-note").value.trim();
  if (action === "decline" || action === "cancel") return { reason: note };
  if (action === "complete") return { outcome: note };
  if (action === "close") return { outcome: $("dialog-outcome").value, note };
  return { nrp: $("dialog-officer").value, reason: note };
}

/* ---------------------------------------------------------------- roster */

function fillVillages() {
  const polsek = state.me.polseks.find((p) => p.code === $("filter-polsek").value) || state.me.polseks[0];
  $("filter-village").replaceChildren(h("option", { value: "" }, "Semua"),
    ...polsek.villages.map((v) => h("option", { value: v.code }, `${v.name} (${v.code.slice(-4)})`)));
}

async function loadRoster() {
  const params = new URLSearchParams({ polsek: $("filter-polsek").value });
  if ($("filter-village").value) params.set("village", $("filter-village").value);
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  const current = newest("roster");
  try {
    const data = await api(`/api/officers?${params}`);
    if (!current()) return;
    state.roster = data.officers;
    renderRoster();
    if (state.view === "map") drawMap();
  } catch (error) {
    toast(`Daftar personel: ${error.message}`, true);
  }
}

function renderRoster() {
  $("roster-body").replaceChildren(...state.roster.map((o) => h("tr", { "data-nrp": o.nrp },
    h("td", {}, h("b", {}, o.name), h("div", { class: "muted" }, `NRP ${o.nrp} · ${o.phone}`)),
    h("td", {}, ROLE[o.role] || o.role),
    h("td", {}, o.areas.length ? o.areas.map(areaName).join(", ") : "—"),
    h("td", {}, h("span", { class: `pill ${o.status}` }, OFFICER_STATUS[o.status] || o.status),
      o.on_shift ? "" : h("div", { class: "muted" }, "di luar jadwal")),
    h("td", {}, o.assignment ? `#${o.assignment.number} ${o.assignment.priority} (${STEP[o.assignment.state] || o.assignment.state})` : "—"))));
}

function areaName(code) {
  const [village, rw] = code.split("/");
  const polsek = state.me.polseks.find((p) => village.startsWith(p.code)) || { villages: [] };
  const found = polsek.villages.find((v) => v.code === village);
  return `${found ? found.name : village}${rw ? ` ${rw.replace("RW", "RW ")}` : ""}`;
}

/* ---------------------------------------------------------------- map (SVG, drawn here) */

async function drawMap() {
  if (!state.areas) {
    try { state.areas = await api("/api/areas"); } catch (e) { state.areas = { areas: [] }; }
  }
  const areas = state.areas.areas;
  const centroid = Object.fromEntries(areas.map((area) => [area.code, area.label_at]));
  const incidents = [...state.cards.values()].filter((c) => c.open && c.status !== "duplicate").map((c) => {
    const place = c.place || {};
    if (place.lat != null && place.lon != null) return { card: c, lon: place.lon, lat: place.lat, approx: false };
    const at = centroid[place.village_code];
    if (!at) return null;
    const spread = (parseInt(String(c.number).replace(/\D/g, "").slice(-2) || "0", 10) % 7 - 3) * 0.0006;
    return { card: c, lon: at[0] + spread, lat: at[1] - spread, approx: true };
  }).filter(Boolean);
  const officers = state.roster.filter((o) => o.lat != null && o.lon != null && o.role !== "duty_desk");
  const points = [...areas.flatMap((a) => a.rings.flat()), ...incidents.map((i) => [i.lon, i.lat]),
                  ...officers.map((o) => [o.lon, o.lat])];
  const map = $("map");
  if (!points.length) {
    map.replaceChildren();
    $("map-note").textContent = "Belum ada yang bisa digambar.";
    return;
  }
  const lons = points.map((p) => p[0]), lats = points.map((p) => p[1]);
  const [minLon, maxLon, minLat, maxLat] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);  // equirectangular: a degree of longitude is shorter
  const width = 1000, pad = 30;
  const scale = (width - 2 * pad) / Math.max((maxLon - minLon) * kx, 1e-6);
  const height = Math.max(300, (maxLat - minLat) * scale + 2 * pad);
  const x = (lon) => pad + (lon - minLon) * kx * scale;
  const y = (lat) => pad + (maxLat - lat) * scale;
  map.setAttribute("viewBox", `0 0 ${width} ${Math.round(height)}`);
  const nodes = [];
  const stale = Object.fromEntries(((state.coverage || {}).villages || []).map((v) => [v.village_code, v.stale_count]));
  for (const area of areas) {
    const unvisited = stale[area.code] || 0;  // RWs not visited lately (community coverage) stand out here too
    for (const ring of area.rings) {
      nodes.push(svg("polygon", { class: unvisited ? "area stale" : "area", "data-village": area.code,
                                  points: ring.map(([lon, lat]) => `${x(lon)},${y(lat)}`).join(" ") },
        svg("title", {}, `${area.name} (${area.code})` + (unvisited ? `: ${unvisited} RW belum dikunjungi` : ""))));
    }
    nodes.push(svg("text", { class: "area-label", x: x(area.label_at[0]), y: y(area.label_at[1]) - 14 }, area.name));
  }
  for (const o of officers) {
    const kind = o.status === "available" ? "free" : ["off_duty", "unavailable"].includes(o.status) ? "away" : "busy";
    nodes.push(svg("rect", { class: `off ${kind}`, x: x(o.lon) - 6, y: y(o.lat) - 6, width: 12, height: 12 },
      svg("title", {}, `${o.name} — ${OFFICER_STATUS[o.status] || o.status}`)));
  }
  for (const i of incidents) {
    const c = i.card;
    nodes.push(svg("circle", { class: `inc ${c.priority === "P1" ? "p1" : ""} ${i.approx ? "approx" : ""}`,
                               cx: x(i.lon), cy: y(i.lat), r: c.priority === "P1" ? 11 : 8, "data-report": c.report_id },
      svg("title", {}, `#${c.number} ${c.category_name} — ${STATUS[c.status] || c.status}`)));
    nodes.push(svg("text", { class: "inc-label", x: x(i.lon) + 12, y: y(i.lat) + 4 }, `#${c.number}`));
  }
  map.replaceChildren(...nodes);
  const unplaced = state.roster.filter((o) => (o.lat == null || o.lon == null) && o.role !== "duty_desk").length;
  $("map-note").textContent = `${incidents.length} kejadian terbuka, ${officers.length} personel dengan lokasi` +
    (unplaced ? `; ${unplaced} personel belum mengirim lokasi.` : ".");
}

/* ---------------------------------------------------------------- community: coverage, visits, posts, alerts */

const PLACE = { pasar: "pasar", sekolah: "sekolah", ibadah: "tempat ibadah", permukiman: "permukiman",
                kantor: "kantor", lainnya: "lainnya" };
const CATEGORY = { traffic_accident: "Laka lantas", theft: "Pencurian", robbery: "Perampokan",
                   domestic_violence: "KDRT", brawl: "Tawuran", disturbance: "Gangguan ketertiban",
                   fire: "Kebakaran", disaster: "Bencana", missing_person: "Orang hilang", other: "Lainnya" };
const ALERT_STATE = { active: "sedang dikirim", done: "terkirim", cancelled: "dibatalkan", expired: "kedaluwarsa" };

/* One id per form filled in: a double click or a retry after a lost answer records one visit, one alert. */
function requestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const hex = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function communityPolsek() {
  return state.me.polseks.find((p) => p.code === $("community-polsek").value) || state.me.polseks[0];
}

function villageOptions(polsek) {
  return polsek.villages.map((v) => h("option", { value: v.code }, `${v.name} (${v.code.slice(-4)})`));
}

function fillCommunityForms() {
  $("community-polsek").replaceChildren(...state.me.polseks.map((p) => h("option", { value: p.code }, p.name)));
  const polsek = communityPolsek();
  for (const id of ["visit-village", "rws-village", "post-village", "alert-village"]) {
    $(id).replaceChildren(...villageOptions(polsek));
  }
  $("visit-category").replaceChildren(...Object.entries(CATEGORY).map(([code, name]) => h("option", { value: code }, name)));
}

async function loadCommunity() {
  const polsek = communityPolsek().code;
  const current = newest("community");
  try {
    const [coverage, posts, alerts] = await Promise.all([
      api(`/api/community/coverage?polsek=${polsek}`), api(`/api/community/posts?polsek=${polsek}`),
      api(`/api/community/alerts?polsek=${polsek}`)]);
    if (!current()) return;
    state.coverage = coverage;
    renderCoverage(coverage);
    renderPosts(posts.posts);
    renderAlerts(alerts.alerts);
  } catch (error) {
    toast(`Komunitas: ${error.message}`, true);
  }
  $("visit-officer").replaceChildren(...state.roster.filter((o) => o.role !== "duty_desk")
    .map((o) => h("option", { value: o.nrp }, `${o.name} (${ROLE[o.role] || o.role})`)));
}

function renderCoverage(coverage) {
  $("stale-count").textContent = coverage.stale_count;
  $("coverage-note").textContent = `${coverage.rw_count} RW diketahui; ${coverage.stale_count} belum dikunjungi ` +
    `dalam ${coverage.stale_days} hari terakhir (ditandai).`;
  const rows = [];
  for (const village of coverage.villages) {
    for (const row of village.rws) {
      const visit = row.last_visit;
      rows.push(h("tr", { class: row.stale ? "stale" : "", "data-village": village.village_code, "data-rw": row.rw },
        h("td", {}, village.village_name),
        h("td", {}, `RW ${String(row.rw).padStart(2, "0")}`),
        h("td", {}, visit ? `${visit.officer_name || visit.nrp}, ${PLACE[visit.place_kind] || visit.place_kind}, ` +
          `${row.days_since} hari lalu` : "belum pernah"),
        h("td", {}, visit ? (visit.concerns || "—") : "—", visit && visit.reported ? h("div", { class: "muted" }, "dilaporkan") : "",
          visit && !visit.reported && visit.concerns ? h("button", { class: "small link", onclick: () => reportConcern(visit) }, "Jadikan laporan…") : ""),
        h("td", {}, h("span", { class: `pill ${row.stale ? "stale" : "fresh"}` },
          row.stale ? (visit ? `lewat ${coverage.stale_days} hari` : "belum dikunjungi") : "terkunjungi"))));
    }
  }
  $("coverage-body").replaceChildren(...rows);
}

async function reportConcern(visit) {
  const category = prompt(`Kategori laporan (${Object.keys(CATEGORY).join(", ")})`, "disturbance");
  if (!category) return;
  try {
    await api(`/api/community/visits/${visit.visit_id}/report`, { method: "POST", body: { category, description: visit.concerns } });
    toast("Keluhan dilaporkan sebagai kejadian.");
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

function renderPosts(posts) {
  $("posts-body").replaceChildren(...posts.map((p) => h("tr", {},
    h("td", {}, p.name), h("td", {}, `${p.village_name}${p.rw ? `, RW ${String(p.rw).padStart(2, "0")}` : ""}`),
    h("td", {}, `${p.leader_name || ""} ${p.leader_phone}`))));
}

function renderAlerts(alerts) {
  $("alerts-body").replaceChildren(...alerts.map((a) => h("tr", { "data-alert": a.alert_id },
    h("td", {}, a.number), h("td", {}, a.area.text), h("td", {}, a.text),
    h("td", {}, ALERT_STATE[a.state] || a.state), h("td", {}, `${a.sent} dari ${a.recipients}` + (a.not_sent ? `, ${a.not_sent} tidak dikirim` : "")),
    h("td", {}, h("a", { href: `/api/community/alerts/${a.alert_id}/cap.xml`, target: "_blank" }, "CAP XML"), " ",
      a.state === "active" || a.state === "done" ? h("button", { class: "small", onclick: () => cancelAlert(a) }, "Batalkan") : ""))));
}

async function cancelAlert(alert) {
  const reason = prompt("Alasan pembatalan", "");
  if (reason === null) return;
  try {
    const done = await api(`/api/community/alerts/${alert.alert_id}/cancel`, { method: "POST", body: { reason } });
    toast(`Peringatan ${done.number} dibatalkan: ${done.not_sent} penerima tidak akan dikirimi.`);
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

async function saveVisit(event) {
  event.preventDefault();
  const body = { nrp: $("visit-officer").value, village_code: $("visit-village").value, rw: $("visit-rw").value,
                 place_kind: $("visit-place").value, concerns: $("visit-concerns").value,
                 report: $("visit-report").checked, category: $("visit-category").value,
                 request_id: state.visitRequest || (state.visitRequest = requestId()) };
  try {
    const visit = await api("/api/community/visits", { method: "POST", body });
    toast(`Kunjungan #${visit.number} tercatat${visit.report ? " dan dilaporkan" : ""}.`);
    $("visit-concerns").value = "";
    state.visitRequest = null;
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

async function saveRws(event) {
  event.preventDefault();
  try {
    await api("/api/community/rws", { method: "POST", body: { village_code: $("rws-village").value, rw_count: $("rws-count").value } });
    toast("Jumlah RW disimpan.");
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

async function savePost(event) {
  event.preventDefault();
  const body = { name: $("post-name").value, village_code: $("post-village").value, rw: $("post-rw").value,
                 leader_name: $("post-leader").value, leader_phone: $("post-phone").value };
  try {
    const post = await api("/api/community/posts", { method: "POST", body });
    toast(`Pos ${post.name} terdaftar.`);
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

function alertBody() {
  const kind = $("alert-kind").value;
  return { area_kind: kind, area_code: kind === "district" ? communityPolsek().code : $("alert-village").value,
           rw: $("alert-rw").value, category: $("alert-category").value, urgency: $("alert-urgency").value,
           expires_minutes: $("alert-minutes").value, text: $("alert-text").value, request_id: state.alertRequest };
}

async function previewAlert() {
  $("alert-send").disabled = true;
  state.alertRequest = requestId();  // the alert this preview shows: sending it twice issues it once
  try {
    const preview = await api("/api/community/alerts/preview", { method: "POST", body: alertBody() });
    const r = preview.recipients;
    $("alert-sms").hidden = false;
    $("alert-sms").textContent = preview.sms_text;
    $("alert-summary").textContent = `${r.total} penerima (${r.residents} warga, ${r.posts} pos) × ` +
      `${preview.segments} SMS = ${preview.sms_total} SMS ${preview.encoding}, biaya ` +
      `Rp ${Math.round(preview.price_total).toLocaleString("id-ID")} (tarif per operator). ` +
      (preview.refusal ? `Tidak bisa dikirim: ${preview.refusal}` : `Sisa ${preview.room} karakter. ` +
       `Terkirim semua dalam ±${preview.seconds_to_send} detik.`);
    $("alert-send").disabled = Boolean(preview.refusal) || r.total === 0;
  } catch (error) { toast(error.message, true); }
}

async function sendAlert(event) {
  event.preventDefault();
  try {
    const alert = await api("/api/community/alerts", { method: "POST", body: alertBody() });
    toast(`Peringatan ${alert.number} dikirim ke ${alert.recipients} penerima.`);
    $("alert-send").disabled = true;
    loadCommunity();
  } catch (error) { toast(error.message, true); }
}

/* ---------------------------------------------------------------- start */

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("show-closed").addEventListener("change", renderBoard);
  $("roster-refresh").addEventListener("click", loadRoster);
  $("filter-polsek").addEventListener("change", () => { fillVillages(); loadRoster(); });
  $("filter-village").addEventListener("change", loadRoster);
  $("filter-status").addEventListener("change", loadRoster);
  $("dialog-ok").addEventListener("click", (event) => {
    const note = $("dialog-note");
    if (!note.value.trim() && $("dialog-outcome-label").hidden) { event.preventDefault(); note.focus(); toast("Isi dulu alasannya / hasilnya.", true); }
  });
  for (const tab of document.querySelectorAll(".tabs button")) tab.addEventListener("click", () => switchView(tab.dataset.view));
  $("community-refresh").addEventListener("click", loadCommunity);
  $("community-polsek").addEventListener("change", () => { fillCommunityForms(); loadCommunity(); });
  $("visit-form").addEventListener("submit", saveVisit);
  $("rws-form").addEventListener("submit", saveRws);
  $("post-form").addEventListener("submit", savePost);
  $("alert-preview").addEventListener("click", previewAlert);
  $("alert-form").addEventListener("submit", sendAlert);
  for (const id of ["alert-kind", "alert-village", "alert-rw", "alert-text", "alert-minutes"]) {
    $(id).addEventListener("input", () => { $("alert-send").disabled = true; });
  }
  setInterval(tick, 1000);
  setInterval(() => { if (state.me && state.view !== "board") loadRoster(); }, 15000);
  setInterval(() => { if (state.me && state.view === "community") loadCommunity(); }, 30000);
  try {
    const me = await api("/api/me");
    if (me.logged_in) { state.me = me; showApp(); } else { showLogin(""); }
  } catch (error) {
    showLogin(error.message);
  }
});
