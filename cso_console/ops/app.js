// The ops dashboard: sign-in, the live /ops connection (occupancy and alerts pushes), today's
// figures from GET /api/stats, and the floor actions (out of service, pause an officer).

import { io } from "/vendor/socket.io-client/socket.io.esm.min.js";
import { SignIn, request, requestJson, ApiError } from "/shared/api.js";
import { t, setLanguage, getLanguage, applyTranslations, onLanguageChange } from "/shared/i18n.js";
import { el, toast, formatDuration } from "/shared/util.js";
import { renderFrame } from "/shared/frame.js";
import "./i18n-ops.js";
import { icon } from "./icons.js";
import { drawStepChart } from "./charts.js";

const signIn = new SignIn("lapak.ops.signin");
const BRANCH_KEY = "lapak.ops.branch";
const STATES = ["in_session", "offered", "queued", "idle", "offline", "out_of_service"];
const STATS_EVERY_MS = 30000;
const STATS_AFTER_CHANGE_MS = 1200;
const ACK_TIMEOUT_MS = 8000;
const DEFAULT_WAIT_ALERT_S = 600;
const GROUP_OFFLINE_OVER = 3;
const $ = (id) => document.getElementById(id);

let app = null;

function fmtDuration(seconds) {
  return seconds === null || seconds === undefined ? "—" : formatDuration(seconds);
}

function fmtNumber(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString(getLanguage() === "id" ? "id-ID" : "en-GB", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function localMidnight() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

class OpsApp {
  constructor(auth) {
    this.auth = auth;
    this.socket = null;
    this.connected = false;
    this.occupancy = null;
    this.stats = null;
    this.alerts = [];
    this.alertsAt = 0;
    this.offsetS = 0; // server clock minus browser clock
    this.branch = sessionStorage.getItem(BRANCH_KEY) || "all";
    this.counts = { occupancy: 0, stats: 0, alerts: 0 };
    this.statsTimer = null;
    this.statsSoon = null;
    this.tickTimer = null;
    this.lastSignature = "";
    this.lastError = null;
    this.oosBooth = null;
  }

  // ------------------------------------------------------------------ lifecycle

  start() {
    $("login-view").hidden = true;
    $("ops-view").hidden = false;
    $("user-name").textContent = this.auth.username;
    $("export-icon").replaceChildren(icon("download"));
    this.bindChrome();
    this.connect();
    this.fetchStats();
    this.statsTimer = setInterval(() => this.fetchStats(), STATS_EVERY_MS);
    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.langOff = onLanguageChange(() => this.renderAll());
    this.resize = new ResizeObserver(() => this.renderCharts());
    this.resize.observe($("chart-occupancy"));
    this.renderAll();
    publish();
  }

  stop() {
    clearInterval(this.statsTimer);
    clearInterval(this.tickTimer);
    clearTimeout(this.statsSoon);
    if (this.langOff) this.langOff();
    if (this.resize) this.resize.disconnect();
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
    }
    for (const [node, type, fn] of this.listeners || []) node.removeEventListener(type, fn);
  }

  on(node, type, fn) {
    node.addEventListener(type, fn);
    (this.listeners ||= []).push([node, type, fn]);
  }

  bindChrome() {
    this.on($("branch-select"), "change", (e) => {
      this.branch = e.target.value;
      sessionStorage.setItem(BRANCH_KEY, this.branch);
      this.stats = null;
      this.renderAll();
      this.fetchStats();
    });
    this.on($("export-csv"), "click", () => this.exportCsv());
    this.on($("logout"), "click", () => signOut());
    this.on($("oos-cancel"), "click", () => $("oos-dialog").close("cancel"));
    this.on($("oos-form"), "submit", (e) => {
      e.preventDefault();
      const reason = new FormData(e.target).get("reason") || "other";
      const booth = this.oosBooth;
      $("oos-dialog").close("confirm");
      if (booth) this.setOutOfService(booth, true, String(reason));
    });
  }

  connect() {
    const socket = io("/ops", {
      auth: { token: this.auth.token },
      transports: ["websocket"],
      reconnectionDelay: 250,
      reconnectionDelayMax: 3000,
      timeout: 5000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.connected = true;
      this.renderConn();
      this.fetchStats();
      publish();
    });
    socket.on("disconnect", () => {
      this.connected = false;
      this.renderConn();
      publish();
    });
    socket.on("connect_error", (err) => {
      this.connected = false;
      this.renderConn();
      if (!socket.active) {
        // Refused by the server (bad or expired token): sign in again.
        const data = (err && err.data) || {};
        signOut(data.code === "forbidden" ? data.message : t("login.expired"));
      }
    });
    socket.on("occupancy", (body) => this.onOccupancy(body || {}));
    socket.on("alerts", (body) => this.onAlerts(body || {}));
  }

  async emit(event, payload) {
    if (!this.socket || !this.socket.connected) throw new ApiError("unavailable", t("error.disconnected"));
    let ack;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw new ApiError("timeout", `no acknowledgement for ${event}`);
    }
    if (!ack || ack.ok !== true) {
      const error = (ack && ack.error) || {};
      throw new ApiError(error.code || "invalid", error.message || "request refused");
    }
    return ack;
  }

  nowS() {
    return Date.now() / 1000 + this.offsetS;
  }

  // ------------------------------------------------------------------ server data

  onOccupancy(body) {
    if (!Array.isArray(body.branches)) return;
    if (typeof body.generated_at === "number") this.offsetS = body.generated_at - Date.now() / 1000;
    this.occupancy = body;
    this.counts.occupancy += 1;
    this.renderBranchSelect();
    this.renderLive();
    // Figures change when visits start and end: refresh them soon after such a change.
    const signature = this.branches()
      .map((b) => b.booths.map((x) => `${x.id}:${x.state}`).join(",") + `|${b.queue.length}`)
      .join(";");
    if (signature !== this.lastSignature) {
      this.lastSignature = signature;
      clearTimeout(this.statsSoon);
      this.statsSoon = setTimeout(() => this.fetchStats(), STATS_AFTER_CHANGE_MS);
    }
    publish();
  }

  onAlerts(body) {
    if (!Array.isArray(body.alerts)) return;
    this.alerts = body.alerts;
    this.alertsAt = body.generated_at || this.nowS();
    this.counts.alerts += 1;
    this.renderAlerts();
    publish();
  }

  async fetchStats() {
    const branch = this.branch;
    try {
      const body = await requestJson(`/api/stats?branch=${encodeURIComponent(branch)}`, { token: this.auth.token });
      if (branch !== this.branch) return;
      this.stats = body;
      this.counts.stats += 1;
      this.lastError = null;
      $("stats-banner").hidden = true;
      if (body.generated_at >= this.alertsAt) {
        this.alerts = body.alerts;
        this.alertsAt = body.generated_at;
      }
      this.renderKpis();
      this.renderCharts();
      this.renderOfficers();
      this.renderQueue();
      this.renderAlerts();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        signOut(t("login.expired"));
        return;
      }
      if (err instanceof ApiError && err.code === "invalid" && branch !== "all") {
        // A branch that no longer exists: fall back to all.
        this.branch = "all";
        sessionStorage.setItem(BRANCH_KEY, "all");
        this.fetchStats();
        return;
      }
      this.lastError = err.message || String(err);
      const banner = $("stats-banner");
      banner.textContent = t("ops.stats.unavailable", { message: this.lastError });
      banner.hidden = false;
    }
    publish();
  }

  branches() {
    if (!this.occupancy) return [];
    const all = this.occupancy.branches;
    if (this.branch === "all") return all;
    const one = all.filter((b) => b.id === this.branch);
    return one.length ? one : all;
  }

  waitAlertS() {
    return (this.stats && this.stats.thresholds && this.stats.thresholds.wait_alert_s) || DEFAULT_WAIT_ALERT_S;
  }

  // ------------------------------------------------------------------ actions

  async setOutOfService(booth, outOfService, reason) {
    const name = booth.label || booth.id;
    try {
      const payload = { booth_id: booth.id, out_of_service: outOfService };
      if (outOfService) payload.reason = reason;
      await this.emit("set_out_of_service", payload);
      toast(t(outOfService ? "ops.oos.done" : "ops.oos.back_done", { booth: name }), "success");
    } catch (err) {
      toast(`${name}: ${err.message}`, "error");
    }
  }

  openOutOfService(booth) {
    this.oosBooth = booth;
    $("oos-title").textContent = t("ops.oos.title", { booth: booth.label || booth.id });
    $("oos-form").reset();
    $("oos-dialog").showModal();
  }

  async setOfficerStatus(officer, status) {
    try {
      await this.emit("set_officer_status", { officer_id: officer.id, status });
      toast(t(status === "paused" ? "ops.officer.paused_done" : "ops.officer.resumed_done", { officer: officer.name }), "success");
    } catch (err) {
      toast(`${officer.name}: ${err.message}`, "error");
    }
  }

  async exportCsv() {
    const button = $("export-csv");
    button.disabled = true;
    try {
      const branch = encodeURIComponent(this.branch);
      const response = await request(`/api/visits.csv?since=${localMidnight()}&branch=${branch}`, { token: this.auth.token });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const day = new Date().toISOString().slice(0, 10);
      const link = el("a", { href: url, download: `kunjungan-${day}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      window.__opsExport = { size: blob.size, type: blob.type, at: Date.now() };
      toast(t("ops.export.done"), "success");
    } catch (err) {
      toast(t("ops.export.failed", { message: err.message }), "error");
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ rendering

  renderAll() {
    this.renderConn();
    this.renderBranchSelect();
    this.renderLegend();
    this.renderLive();
    this.renderKpis();
    this.renderCharts();
  }

  renderLive() {
    this.renderFloor();
    this.renderOfficers();
    this.renderQueue();
    this.renderAlerts();
    this.renderKpis();
    this.tick();
  }

  renderConn() {
    const pill = $("conn");
    const state = this.connected ? "online" : this.socket && this.socket.active ? "offline" : "connecting";
    pill.dataset.state = state;
    pill.textContent = t(`conn.${state}`);
  }

  renderBranchSelect() {
    const select = $("branch-select");
    const branches = this.occupancy ? this.occupancy.branches : [];
    const options = [["all", t("ops.branch.all")], ...branches.map((b) => [b.id, b.name])];
    const key = JSON.stringify(options) + this.branch;
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    select.replaceChildren(
      ...options.map(([value, label]) => el("option", { value, selected: value === this.branch }, label)),
    );
    select.value = options.some(([v]) => v === this.branch) ? this.branch : "all";
  }

  renderLegend() {
    $("legend").replaceChildren(
      ...STATES.map((state) =>
        el("span", { class: `legend-item st-${state}` }, icon(state), t(`ops.booth.state.${state}`)),
      ),
    );
  }

  renderFloor() {
    const floor = $("floor");
    const branches = this.branches();
    const multi = branches.length > 1 || this.branch === "all";
    floor.replaceChildren(
      ...branches.map((branch) => {
        const working = branch.officers.filter((o) => o.status === "available" || o.status === "not_responding").length;
        const tiles = branch.booths.map((booth) => this.boothTile(booth));
        return el(
          "section",
          { class: "branch", dataset: { branch: branch.id } },
          multi || true
            ? el(
                "header",
                { class: "branch-head" },
                el("h3", {}, branch.name),
                el("span", { class: "muted small" }, t("ops.floor.summary", { booths: branch.booths.length, officers: working })),
              )
            : null,
          el("div", { class: "booth-grid" }, tiles),
        );
      }),
    );
  }

  boothTile(booth) {
    const state = booth.state;
    const detail = [];
    if (state === "out_of_service" && booth.out_of_service_reason) {
      const key = `ops.oos.reason.${booth.out_of_service_reason}`;
      const text = t(key);
      detail.push(el("span", { class: "chip" }, text === key ? booth.out_of_service_reason : text));
    }
    if (booth.healthy === false) detail.push(el("span", { class: "chip chip-fault" }, icon("fault"), t("ops.booth.fault")));
    if (state === "queued" || state === "offered") {
      const entry = this.queueEntry(booth.session_id);
      if (entry && entry.ticket) detail.push(el("span", { class: "chip" }, entry.ticket));
    }
    if (state === "in_session" && !booth.connected) detail.push(el("span", { class: "chip chip-fault" }, icon("offline"), t("ops.booth.state.offline")));
    const oos = state === "out_of_service";
    const action = el(
      "button",
      {
        type: "button",
        class: `tile-action ${oos ? "tile-action-back" : ""}`,
        title: t(oos ? "ops.booth.back" : "ops.booth.oos"),
        "aria-label": `${t(oos ? "ops.booth.back" : "ops.booth.oos")} — ${booth.label}`,
        dataset: { action: oos ? "back" : "oos" },
        onclick: () => (oos ? this.setOutOfService(booth, false) : this.openOutOfService(booth)),
      },
      t(oos ? "ops.booth.back.short" : "ops.booth.oos.short"),
    );
    return el(
      "article",
      {
        class: `booth st-${state}`,
        dataset: { booth: booth.id, state },
        "aria-label": `${booth.label}: ${t(`ops.booth.state.${state}`)}`,
      },
      el("div", { class: "booth-top" }, el("span", { class: "booth-label" }, booth.label), el("span", { class: "booth-id" }, booth.id)),
      el("div", { class: "booth-state" }, icon(state), el("span", { class: "state-text" }, t(`ops.booth.state.${state}`))),
      el("div", { class: "booth-since", dataset: { since: booth.since, fmt: "ops.booth.since" } }),
      el("div", { class: "booth-detail" }, detail),
      action,
    );
  }

  queueEntry(sessionId) {
    if (!sessionId) return null;
    for (const branch of this.branches()) {
      const entry = (branch.queue.entries || []).find((e) => e.session_id === sessionId);
      if (entry) return entry;
    }
    return null;
  }

  boothLabel(boothId) {
    for (const branch of this.occupancy ? this.occupancy.branches : []) {
      const booth = branch.booths.find((b) => b.id === boothId);
      if (booth) return booth.label;
    }
    return boothId;
  }

  officerStats(id) {
    if (!this.stats) return null;
    for (const branch of this.stats.branches) {
      const row = branch.officers.find((o) => o.id === id);
      if (row) return row;
    }
    return null;
  }

  renderOfficers() {
    const list = $("officers");
    const rows = [];
    for (const branch of this.branches()) {
      for (const officer of branch.officers) {
        const focusBooth = officer.focus ? branch.booths.find((b) => b.session_id === officer.focus) : null;
        const capacity = Math.max(1, officer.capacity);
        const sessionsPct = (100 * officer.sessions) / capacity;
        const offersPct = (100 * officer.offers) / capacity;
        const figures = this.officerStats(officer.id);
        const canPause = officer.status === "available" || officer.status === "not_responding";
        const button =
          officer.status === "offline"
            ? null
            : el(
                "button",
                {
                  type: "button",
                  class: "btn btn-small",
                  dataset: { action: canPause ? "pause" : "resume", officer: officer.id },
                  onclick: () => this.setOfficerStatus(officer, canPause ? "paused" : "available"),
                },
                icon(canPause ? "pause" : "play"),
                t(canPause ? "ops.officer.pause" : "ops.officer.resume"),
              );
        rows.push(
          el(
            "li",
            { class: `officer os-${officer.status}`, dataset: { officer: officer.id, status: officer.status } },
            el(
              "div",
              { class: "officer-top" },
              el("strong", {}, officer.name),
              el("span", { class: `status-pill os-${officer.status}` }, t(`status.${officer.status}`)),
              el("span", { class: "officer-since muted small", dataset: { since: officer.since, fmt: "ops.booth.since" } }),
            ),
            el(
              "div",
              {
                class: "loadbar",
                role: "meter",
                "aria-valuemin": 0,
                "aria-valuemax": officer.capacity,
                "aria-valuenow": officer.load,
                "aria-label": t("ops.officer.load", { load: officer.load, capacity: officer.capacity }),
                dataset: { load: officer.load, capacity: officer.capacity },
              },
              el("span", { class: "load-sessions", style: `width:${sessionsPct}%` }),
              el("span", { class: "load-offers", style: `width:${offersPct}%` }),
              ...Array.from({ length: capacity - 1 }, (_, i) =>
                el("span", { class: "load-tick", style: `left:${(100 * (i + 1)) / capacity}%` }),
              ),
            ),
            el(
              "div",
              { class: "officer-meta small" },
              el("span", { class: "officer-load" }, t("ops.officer.load", { load: officer.load, capacity: officer.capacity })),
              el("span", { class: "muted" }, t("ops.officer.load_detail", { sessions: officer.sessions, offers: officer.offers })),
            ),
            el(
              "div",
              { class: "officer-meta small" },
              el(
                "span",
                { class: focusBooth ? "focus" : "muted" },
                icon("focus"),
                focusBooth ? t("ops.officer.focus", { booth: focusBooth.label }) : t("ops.officer.nofocus"),
              ),
              figures
                ? el(
                    "span",
                    { class: "muted" },
                    t("ops.officer.factor", {
                      factor: fmtNumber(figures.one_to_many_factor, 2),
                      completed: figures.visits_completed,
                    }),
                  )
                : null,
              button,
            ),
          ),
        );
      }
    }
    list.replaceChildren(...rows);
  }

  renderQueue() {
    const body = $("queue");
    const rows = [];
    let total = 0;
    for (const branch of this.branches()) {
      total += branch.queue.length;
      const generated = this.occupancy.generated_at;
      for (const entry of branch.queue.entries || []) {
        const since = generated - entry.wait_s;
        rows.push(
          el(
            "tr",
            { dataset: { session: entry.session_id, since, over: entry.wait_s > this.waitAlertS() ? "1" : "0" } },
            el(
              "td",
              {},
              entry.ticket || el("span", { class: "muted" }, t("ops.noticket")),
              entry.priority ? el("span", { class: "chip chip-small" }, t("ops.queue.priority", { p: entry.priority })) : null,
            ),
            el("td", {}, this.boothLabel(entry.booth_id)),
            el("td", { class: "num wait", dataset: { since } }),
          ),
        );
      }
    }
    if (!rows.length) rows.push(el("tr", { class: "empty" }, el("td", { colspan: 3 }, t("ops.queue.empty"))));
    body.replaceChildren(...rows);
    $("queue-count").textContent = String(total);
  }

  visibleAlerts() {
    if (this.branch === "all") return this.alerts;
    return this.alerts.filter((a) => a.branch === this.branch || a.branch === "*");
  }

  alertText(alert) {
    const label = alert.label || alert.booth_id || alert.officer_id || "";
    switch (alert.kind) {
      case "booth_offline":
        return t(alert.session_id ? "ops.alert.booth_offline.stranded" : "ops.alert.booth_offline", { label });
      case "long_wait":
        return t("ops.alert.long_wait", {
          label: alert.label || t("ops.noticket"),
          booth: this.boothLabel(alert.booth_id),
          wait: fmtDuration(this.nowS() - alert.since),
          threshold: fmtDuration(alert.detail.threshold_s),
        });
      case "officer_lost":
        return t("ops.alert.officer_lost", { label, sessions: alert.detail.sessions });
      default:
        return t(`ops.alert.${alert.kind}`, { label });
    }
  }

  renderAlerts() {
    const list = $("alerts");
    const alerts = this.visibleAlerts();
    const multi = this.occupancy && this.occupancy.branches.length > 1;
    const names = new Map((this.occupancy ? this.occupancy.branches : []).map((b) => [b.id, b.name]));
    // Many booths offline at once (opening time, a network outage) read better as one line.
    const quietOffline = alerts.filter((a) => a.kind === "booth_offline" && a.severity !== "critical");
    const grouped = quietOffline.length > GROUP_OFFLINE_OVER;
    const shown = grouped ? alerts.filter((a) => !quietOffline.includes(a)) : alerts;
    const items = shown.map((alert) =>
      el(
        "li",
        { class: `alert sev-${alert.severity}`, dataset: { alert: alert.id, kind: alert.kind, severity: alert.severity } },
        icon(alert.severity, "alert-icon"),
        el(
          "div",
          { class: "alert-body" },
          el(
            "div",
            { class: "alert-top" },
            el("span", { class: `sev-badge sev-${alert.severity}` }, t(`ops.alert.severity.${alert.severity}`)),
            multi && names.has(alert.branch) ? el("span", { class: "muted small" }, names.get(alert.branch)) : null,
            el("span", { class: "alert-since muted small", dataset: { since: alert.since, fmt: "ops.alert.since" } }),
          ),
          el("div", { class: "alert-text" }, this.alertText(alert)),
        ),
      ),
    );
    if (grouped) {
      const first = quietOffline.reduce((m, a) => Math.min(m, a.since), Infinity);
      const labels = quietOffline.map((a) => a.label || a.booth_id).join(", ");
      const group = el(
        "li",
        { class: "alert sev-warning", dataset: { alert: "booth_offline:group", kind: "booth_offline_group", severity: "warning" } },
        icon("warning", "alert-icon"),
        el(
          "div",
          { class: "alert-body" },
          el(
            "div",
            { class: "alert-top" },
            el("span", { class: "sev-badge sev-warning" }, t("ops.alert.severity.warning")),
            el("span", { class: "alert-since muted small", dataset: { since: first, fmt: "ops.alert.since" } }),
          ),
          el("div", { class: "alert-text" }, t("ops.alert.booth_offline.group", { count: quietOffline.length, labels })),
        ),
      );
      const firstWarning = items.findIndex((node) => node.dataset.severity !== "critical");
      if (firstWarning < 0) items.push(group);
      else items.splice(firstWarning, 0, group);
    }
    if (!items.length) items.push(el("li", { class: "alert alert-none" }, icon("ok", "alert-icon"), t("ops.alerts.none")));
    list.replaceChildren(...items);
    const badge = $("alert-count");
    badge.textContent = String(alerts.length);
    badge.dataset.severity = alerts.length ? alerts[0].severity : "none";
  }

  liveCounts() {
    const counts = { booths: 0, in_session: 0, queue: 0, idle: 0, sessions: 0, working: 0 };
    for (const branch of this.branches()) {
      counts.booths += branch.booths.length;
      counts.queue += branch.queue.length;
      for (const booth of branch.booths) {
        if (booth.state === "in_session") counts.in_session += 1;
        if (booth.state === "idle") counts.idle += 1;
      }
      for (const officer of branch.officers) {
        if (officer.status === "available" || officer.status === "not_responding") {
          counts.working += 1;
          counts.sessions += officer.sessions;
        }
      }
    }
    return counts;
  }

  renderKpis() {
    const live = this.liveCounts();
    const f = (this.stats && this.stats.totals) || null;
    const nowFactor = live.working ? live.sessions / live.working : null;
    const card = (key, value, sub, cls = "") =>
      el(
        "div",
        { class: `kpi ${cls}`, dataset: { kpi: key } },
        el("div", { class: "kpi-label" }, t(`ops.kpi.${key}`)),
        el("div", { class: "kpi-value" }, value),
        el("div", { class: "kpi-sub muted small" }, sub),
      );
    $("kpis").replaceChildren(
      card(
        "now",
        t("ops.kpi.now.value", { in_session: live.in_session, booths: live.booths }),
        t("ops.kpi.now.sub", { in_session: live.in_session, queue: live.queue, free: live.idle }),
        "kpi-accent",
      ),
      card(
        "completed",
        f ? String(f.visits_completed) : "—",
        f ? t("ops.kpi.completed.sub", { ended: f.visits_ended, claims: f.claims_submitted }) : "",
      ),
      card("wait", f ? fmtDuration(f.wait_median_s) : "—", f ? t("ops.kpi.wait.sub", { p95: fmtDuration(f.wait_p95_s) }) : ""),
      card("handle", f ? fmtDuration(f.handle_median_s) : "—", t("ops.kpi.handle.sub")),
      card(
        "factor",
        f && f.one_to_many_factor !== null ? `×${fmtNumber(f.one_to_many_factor, 2)}` : "—",
        t("ops.kpi.factor.sub", { now: nowFactor === null ? "—" : `×${fmtNumber(nowFactor, 1)}` }),
      ),
      card(
        "claims",
        f ? fmtNumber(f.claims_per_officer_hour, 2) : "—",
        f ? t("ops.kpi.claims.sub", { hours: fmtNumber(f.working_officer_hours, 1) }) : "",
      ),
    );
  }

  renderCharts() {
    const series = this.stats && this.stats.series;
    const occHost = $("chart-occupancy");
    const queueHost = $("chart-queue");
    if (!series) {
      occHost.replaceChildren();
      queueHost.replaceChildren();
      return;
    }
    // The day before the first activity is empty: start an hour before it (at least 2 h shown).
    const firstActive = series.at.findIndex((_, i) => series.in_session[i] > 0 || series.queue[i] > 0);
    const end = series.at.length ? series.at[series.at.length - 1] : 0;
    let from = 0;
    if (firstActive >= 0) {
      const start = Math.min(Math.floor(series.at[firstActive] / 3600) * 3600 - 3600, end - 2 * 3600);
      from = Math.max(0, series.at.findIndex((t) => t >= start));
    } else {
      from = Math.max(0, series.at.findIndex((t) => t >= end - 2 * 3600));
    }
    const at = series.at.slice(from);
    const booths = this.branches().reduce((n, b) => n + b.booths.length, 0);
    const occ = drawStepChart(occHost, at, series.in_session.slice(from), {
      color: "#3b82f6",
      yMax: booths,
      label: t("ops.charts.occupancy"),
    });
    const queue = drawStepChart(queueHost, at, series.queue.slice(from), {
      color: "#f59e0b",
      yMax: 2,
      label: t("ops.charts.queue"),
    });
    $("chart-occ-peak").textContent = t("ops.charts.peak", { value: occ.peak });
    $("chart-queue-peak").textContent = t("ops.charts.peak", { value: queue.peak });
    const step = series.step_s >= 60 ? t("ops.minutes", { m: Math.round(series.step_s / 60) }) : `${series.step_s} s`;
    $("chart-note").textContent = t("ops.charts.note", { step });
  }

  tick() {
    const now = this.nowS();
    for (const node of document.querySelectorAll("#ops-view [data-since]")) {
      const since = Number(node.dataset.since);
      if (!Number.isFinite(since) || since <= 0) continue;
      const duration = fmtDuration(now - since);
      if (node.tagName === "TR") {
        const over = now - since > this.waitAlertS();
        node.classList.toggle("over", over);
        continue;
      }
      node.textContent = node.dataset.fmt ? t(node.dataset.fmt, { duration }) : duration;
    }
    if (this.occupancy) {
      const at = new Date((this.occupancy.generated_at - this.offsetS) * 1000);
      $("updated").textContent = t("ops.updated", { time: at.toLocaleTimeString(getLanguage() === "id" ? "id-ID" : "en-GB") });
    }
  }
}

// ---------------------------------------------------------------------- test hook

function publish() {
  const booths = {};
  const officers = {};
  if (app && app.occupancy) {
    for (const branch of app.occupancy.branches) {
      for (const booth of branch.booths) booths[booth.id] = booth.state;
      for (const officer of branch.officers) officers[officer.id] = { status: officer.status, load: officer.load };
    }
  }
  window.__opsState = {
    signedIn: Boolean(app),
    connected: Boolean(app && app.connected),
    branch: app ? app.branch : null,
    occupancyCount: app ? app.counts.occupancy : 0,
    statsCount: app ? app.counts.stats : 0,
    alertsCount: app ? app.counts.alerts : 0,
    booths,
    officers,
    alerts: app ? app.visibleAlerts().map((a) => ({ id: a.id, kind: a.kind, severity: a.severity, booth_id: a.booth_id })) : [],
    totals: app && app.stats ? app.stats.totals : null,
    lastError: app ? app.lastError : null,
  };
}

// ---------------------------------------------------------------------- sign-in

function showLogin(message) {
  $("ops-view").hidden = true;
  $("login-view").hidden = false;
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-submit").disabled = false;
  $("login-submit").textContent = t("login.submit");
  publish();
}

function signOut(message) {
  if (app) app.stop();
  app = null;
  signIn.clear();
  showLogin(message);
}

async function onLogin(event) {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  const submit = $("login-submit");
  submit.disabled = true;
  submit.textContent = t("login.busy");
  try {
    const auth = await signIn.login(username, password);
    if (auth.role !== "ops") {
      signIn.clear();
      showLogin(t("ops.login.wrong_role", { role: auth.role }));
      return;
    }
    $("login-password").value = "";
    app = new OpsApp(auth);
    app.start();
  } catch (err) {
    showLogin(t("login.failed", { message: err.message }));
  }
}

function markLanguage() {
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === getLanguage()));
  }
  document.title = t("ops.title");
}

function main() {
  document.documentElement.lang = getLanguage();
  renderFrame({ logo: "ops", subtitleKey: "ops.subtitle", titleKey: "ops.login.title" });
  applyTranslations(document);
  markLanguage();
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  onLanguageChange(markLanguage);
  $("login-form").addEventListener("submit", onLogin);
  const saved = signIn.load();
  if (saved && saved.role === "ops") {
    app = new OpsApp(saved);
    app.start();
  } else {
    showLogin();
  }
}

main();
