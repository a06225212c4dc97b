// The officer console: sign-in, the /cso connection, and the session model that ties peers,
// tiles, offers and documents together. Server events and the officer's actions both land
// here; the modules it imports only render or talk to one API.

import { SignIn, requestJson, ApiError } from "/shared/api.js";
import { t, tMaybe, setLanguage, getLanguage, applyTranslations, onLanguageChange } from "/shared/i18n.js";
import { el, toast, toEpochMs } from "/shared/util.js";
import { renderFrame } from "/shared/frame.js";
import { ConsoleSocket } from "./socket.js";
import { SessionPeer } from "./peer.js";
import { Tile, TileGrid } from "./tiles.js";
import { OfferPanel } from "./offers.js";
import { DocumentViewer, loadDocumentImage } from "./documents.js";
import { completeDialog, transferDialog } from "./dialogs.js";
import { openLocalMedia, Chime } from "./media.js";
import { assess, DEFAULT_UNFOCUSED_ALERT_S } from "./attention.js";

const signIn = new SignIn("lapak.console.signin");
const VIEW_KEY = "lapak.console.view"; // focus and slot layout, restored after a reload
const AUTO_ACCEPT_KEY = "lapak.console.autoaccept";
const MAX_SLOTS = 6;
const OWN_OFFER_AFTER_RESTORE_MS = 3000;  // the booth re-offers on `assigned` (resumed); this is the fallback
const OWN_OFFER_AFTER_START_MS = 5000;
const RECONNECT_STUCK_MS = 10000;
const $ = (id) => document.getElementById(id);

let app = null;

class ConsoleApp {
  constructor(auth) {
    this.auth = auth;
    this.officer = { id: auth.officer_id, name: auth.username, status: "offline", load: 0, capacity: 1 };
    this.sessions = new Map();
    this.focusedId = null;
    this.unfocusedAlertS = DEFAULT_UNFOCUSED_ALERT_S;
    this.connected = false;
    this.everConnected = false;
    this.local = { micTrack: null, camTrack: null, stream: null };
    this.strayCandidates = new Map(); // session id → booth signals that beat session_started
    this.next = null;
    this.stateCount = 0;
    this.lastStateAt = null;
    this.chime = new Chime();
    this.grid = new TileGrid($("grid"));
    this.offers = new OfferPanel($("offers"), $("offer-badge"), this.chime, {
      accept: (id) => this.accept(id),
      decline: (id) => this.decline(id),
    });
    this.viewer = new DocumentViewer({ review: (docId, status, reason) => this.review(docId, status, reason) });
    this.saved = readSavedView();
    try {
      this.autoAccept = localStorage.getItem(AUTO_ACCEPT_KEY) === "true";
    } catch {
      this.autoAccept = false;
    }
    this.bindChrome();
  }

  async start() {
    $("console-view").hidden = false;
    $("login-view").hidden = true;
    this.render();
    // Open the camera and microphone first so every peer gets its microphone clone; do not
    // let a forgotten permission prompt keep the console offline.
    const media = await Promise.race([openLocalMedia(), sleep(8000).then(() => null)]);
    if (media) {
      this.local = media;
      if (media.stream) $("preview").srcObject = media.stream;
      if (!media.micTrack) {
        const note = $("preview-note");
        note.hidden = false;
        note.textContent = t("preview.mic_none", { message: media.error ? media.error.message : "?" });
      }
      $("preview").closest(".preview-box").classList.toggle("no-camera", !media.camTrack);
    }
    this.socket = new ConsoleSocket(this.auth.token, {
      connect: () => this.onConnect(),
      disconnect: () => this.onDisconnect(),
      refused: (err) => this.onRefused(err),
      state: (p) => this.onState(p),
      offer: (p) => this.onOffer(p),
      offer_withdrawn: (p) => this.onOfferWithdrawn(p),
      session_started: (p) => this.onSessionStarted(p),
      signal: (p) => this.onSignal(p),
      document_ready: (p) => this.onDocumentReady(p),
      session_ended: (p) => this.onSessionEnded(p),
    });
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  stop() {
    clearInterval(this.ticker);
    document.removeEventListener("keydown", this.keyHandler);
    document.removeEventListener("pointerdown", this.unlockHandler, true);
    if (this.langOff) this.langOff();
    clearInterval(this.offers.timer);
    if (this.socket) this.socket.close();
    for (const session of this.sessions.values()) this.dropSession(session);
    this.viewer.close();
    this.offers.clear();
    if (this.local.stream) for (const track of this.local.stream.getTracks()) track.stop();
  }

  // ---- chrome: header controls, keys ---------------------------------------------------

  bindChrome() {
    for (const button of $("status-switch").querySelectorAll("button")) {
      button.onclick = () => this.setStatus(button.dataset.status);
    }
    const auto = $("auto-accept");
    auto.checked = this.autoAccept;
    auto.onchange = () => {
      this.autoAccept = auto.checked;
      try {
        localStorage.setItem(AUTO_ACCEPT_KEY, String(auto.checked));
      } catch {
        // not persisted
      }
      if (this.autoAccept) for (const id of this.offers.ids()) this.accept(id);
    };
    $("logout").onclick = () => {
      if (this.sessions.size && !confirm(t("logout.confirm"))) return;
      signIn.clear();
      sessionStorage.removeItem(VIEW_KEY);
      this.stop();
      app = null;
      showLogin();
    };
    this.keyHandler = (event) => this.onKey(event);
    document.addEventListener("keydown", this.keyHandler);
    this.unlockHandler = () => this.unlockAudio();
    document.addEventListener("pointerdown", this.unlockHandler, true);
    this.langOff = onLanguageChange(() => {
      for (const session of this.sessions.values()) session.tile.translate();
      this.offers.translate();
      this.render();
    });
  }

  onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const typing = 'input:not([type="checkbox"]):not([type="radio"]):not([type="button"]), select, textarea';
    if (target && target.closest && target.closest(`${typing}, dialog[open]`)) return;
    if (document.querySelector("dialog[open]")) return;
    if (/^[1-6]$/.test(event.key)) {
      const session = this.sessionInSlot(Number(event.key));
      if (session) this.focus(session.id);
      event.preventDefault();
    } else if (event.key === "0") {
      this.focus(null);
      event.preventDefault();
    } else if (event.key === "n" || event.key === "N") {
      if (this.next) this.focus(this.next);
      event.preventDefault();
    }
  }

  unlockAudio() {
    this.chime.unlock();
    if (!$("audio-banner").hidden) {
      $("audio-banner").hidden = true;
      for (const session of this.sessions.values()) session.tile.setHeard(session.id === this.focusedId);
    }
  }

  // ---- connection ----------------------------------------------------------------------

  onConnect() {
    this.connected = true;
    this.everConnected = true;
    this.renderHeader();
  }

  onDisconnect() {
    this.connected = false;
    this.renderHeader();
  }

  onRefused(err) {
    this.stop();
    app = null;
    signIn.clear();
    showLogin(err.code === "unauthorized" ? t("login.expired") : t("login.failed", { message: err.message }));
  }

  /** Errors from acknowledgements and HTTP calls, shown to the officer as they came. */
  reportError(event, err) {
    const message =
      err instanceof ApiError && err.code === "timeout"
        ? t("error.timeout", { event })
        : err instanceof ApiError && err.code === "unavailable" && !this.connected
          ? t("error.disconnected")
          : t("error.ack", { event, message: err.message || String(err) });
    toast(message, "error", 7000);
    console.warn(event, err);
  }

  async emit(event, payload) {
    try {
      return await this.socket.emit(event, payload);
    } catch (err) {
      this.reportError(event, err);
      throw err;
    }
  }

  // ---- server events -------------------------------------------------------------------

  onState(payload) {
    this.stateCount += 1;
    this.lastStateAt = Date.now();
    const officer = payload.officer || {};
    Object.assign(this.officer, officer);
    const alert = payload.unfocused_alert_s ?? officer.unfocused_alert_s ?? (payload.config || {}).unfocused_alert_s;
    if (typeof alert === "number" && alert > 0) this.unfocusedAlertS = alert;
    const serverAuto = payload.auto_accept ?? officer.auto_accept;
    if (serverAuto === true && !this.autoAccept) {
      this.autoAccept = true;
      $("auto-accept").checked = true;
    }
    const listed = new Set();
    let serverFocus = officer.focus ?? payload.focused_session_id ?? officer.focused_session_id ?? null;
    const focusKnown = "focus" in officer || "focused_session_id" in payload || "focused_session_id" in officer;
    for (const raw of payload.sessions || []) {
      const id = raw.session_id || raw.id;
      if (!id) continue;
      listed.add(id);
      let session = this.sessions.get(id);
      if (!session) session = this.createSession(raw, { restored: true });
      else this.mergeSessionFields(session, raw);
      for (const doc of raw.documents || []) this.addDocument(session, doc, { quiet: true });
      if (raw.focused === true) serverFocus = id;
    }
    for (const session of [...this.sessions.values()]) {
      if (!listed.has(session.id)) this.dropSession(session);
    }
    if (Array.isArray(payload.offers)) {
      const offered = new Set();
      for (const offer of payload.offers) {
        offered.add(offer.session_id);
        if (!this.offers.has(offer.session_id)) this.onOffer(offer);
      }
      for (const id of this.offers.ids()) if (!offered.has(id)) this.offers.remove(id);
    }
    if (serverFocus && this.sessions.has(serverFocus)) {
      this.applyFocus(serverFocus);
    } else if (!focusKnown && this.saved.focused && this.sessions.has(this.saved.focused) && !this.focusedId) {
      // The server did not say; put back the focus this console had before the reload.
      const id = this.saved.focused;
      this.emit("focus", { session_id: id }).then(() => this.applyFocus(id), () => {});
    } else if (focusKnown && !serverFocus) {
      this.applyFocus(null);
    }
    this.saveView();
    this.render();
  }

  onOffer(offer) {
    if (!offer.session_id) return;
    this.offers.add(offer);
    const booth = offer.booth || {};
    toast(t("offer.new", { booth: booth.label || booth.id || offer.session_id }), "offer");
    if (this.autoAccept) this.accept(offer.session_id);
  }

  onOfferWithdrawn({ session_id: id, reason }) {
    const offer = this.offers.remove(id);
    if (offer) {
      const booth = offer.booth || {};
      toast(t("offer.withdrawn", { booth: booth.label || booth.id || id, reason: reason || "—" }), "warn");
    }
  }

  onSessionStarted(payload) {
    const id = payload.session_id;
    if (!id) return;
    const offer = this.offers.remove(id);
    let session = this.sessions.get(id);
    if (!session) {
      session = this.createSession({ ...(offer || {}), ...payload }, { restored: false });
      toast(t("session.started", { booth: session.label }), "ok");
    } else {
      this.mergeSessionFields(session, payload);
    }
    this.saveView();
    this.render();
  }

  onSignal(payload) {
    const session = this.sessions.get(payload.session_id);
    if (!session) {
      // A booth offer can overtake session_started on a busy server; keep it briefly.
      const list = this.strayCandidates.get(payload.session_id) || [];
      list.push(payload);
      this.strayCandidates.set(payload.session_id, list);
      setTimeout(() => this.strayCandidates.delete(payload.session_id), 10000);
      return;
    }
    this.applySignal(session, payload);
  }

  applySignal(session, payload) {
    if (payload.description) {
      const desc = payload.description;
      if (desc.type === "offer") this.answerOffer(session, desc);
      else if (desc.type === "answer" && session.peer && session.peer.awaitingAnswer) {
        const peer = session.peer;
        peer.acceptAnswer(desc).catch((err) => {
          this.reportError("signal", err);
          this.retirePeer(session, peer);
        });
      } else console.warn(`session ${session.id}: ignored ${desc.type} description`);
    }
    if ("candidate" in payload) {
      if (session.peer) session.peer.addCandidate(payload.candidate);
      else session.earlyCandidates.push(payload.candidate);
    }
  }

  onDocumentReady(payload) {
    const session = this.sessions.get(payload.session_id);
    if (!session) return;
    this.addDocument(session, payload, { quiet: false });
  }

  onSessionEnded({ session_id: id, reason }) {
    this.offers.remove(id);
    const session = this.sessions.get(id);
    if (!session) return;
    if (!session.endingLocally) {
      toast(t("session.ended", { booth: session.label, reason: tMaybe(`outcome.${reason}`, reason || "—") }), "warn");
    }
    this.dropSession(session);
    this.render();
  }

  // ---- sessions ------------------------------------------------------------------------

  createSession(raw, { restored }) {
    const id = raw.session_id || raw.id;
    const now = Date.now();
    const session = {
      id,
      booth: raw.booth || {},
      label: "",
      ticket: raw.ticket || null,
      kind: raw.kind || null,
      // The state event carries no ice_servers; a reloaded console reuses the ones it saved.
      iceServers: raw.ice_servers || (this.saved.ice && this.saved.ice[id]) || [],
      startedAt: toEpochMs(raw.started_at) ?? now,
      lastFocusAt: toEpochMs(raw.last_focus_at) ?? null,
      everFocused: Boolean(raw.greeted || raw.ever_focused || toEpochMs(raw.last_focus_at)),
      slot: this.freeSlot(id),
      documents: new Map(),
      requested: raw.requested_document ? [raw.requested_document] : [],
      peer: null,
      peerGeneration: 0,
      earlyCandidates: [],
      restored,
      createdAt: now,
      acceptedAt: this.acceptClicks?.get(id) ?? null,
      firstFrameAt: null,
      waitingSince: now,
      lastOwnOfferAt: null,
      endingLocally: false,
      hasVideo: false,
    };
    if (restored && this.saved.greeted && this.saved.greeted.includes(id)) session.everFocused = true;
    session.label = session.booth.label || session.booth.id || id;
    session.tile = new Tile(id, {
      focus: (sid) => this.focus(sid),
      requestDocument: (sid, kind) => this.requestDocument(sid, kind),
      complete: (sid) => this.complete(sid),
      transfer: (sid) => this.transfer(sid),
      openDocument: (sid, docId) => this.openDocument(sid, docId),
      audioBlocked: () => {
        $("audio-banner").hidden = false;
      },
    });
    this.sessions.set(id, session);
    const stray = this.strayCandidates.get(id);
    if (stray) {
      this.strayCandidates.delete(id);
      for (const payload of stray) this.applySignal(session, payload);
    }
    return session;
  }

  mergeSessionFields(session, raw) {
    if (raw.booth) session.booth = { ...session.booth, ...raw.booth };
    if (raw.ticket) session.ticket = raw.ticket;
    if (raw.ice_servers) session.iceServers = raw.ice_servers;
    if ("requested_document" in raw) session.requested = raw.requested_document ? [raw.requested_document] : [];
    const started = toEpochMs(raw.started_at);
    if (started) session.startedAt = started;
    session.label = session.booth.label || session.booth.id || session.id;
  }

  freeSlot(id) {
    const used = new Set([...this.sessions.values()].map((s) => s.slot));
    const remembered = this.saved.slots && this.saved.slots[id];
    if (remembered && !used.has(remembered)) return remembered;
    for (let slot = 1; slot <= MAX_SLOTS; slot += 1) if (!used.has(slot)) return slot;
    return used.size + 1;
  }

  sessionInSlot(slot) {
    for (const session of this.sessions.values()) if (session.slot === slot) return session;
    return null;
  }

  dropSession(session) {
    if (session.peer) session.peer.close();
    session.peer = null;
    session.tile.destroy();
    for (const doc of session.documents.values()) if (doc.url) URL.revokeObjectURL(doc.url);
    if (this.viewer.dialog && session.documents.has(this.viewer.openDocumentId)) this.viewer.close();
    this.sessions.delete(session.id);
    if (this.focusedId === session.id) this.focusedId = null;
    this.saveView();
  }

  answerOffer(session, description) {
    // A booth offer means the booth (re)built its connection: always answer on a new peer
    // rather than renegotiating, since its ICE and DTLS identity are new. If our own
    // fallback offer is outstanding, the console yields (the booth's offer wins the glare).
    if (session.peer) this.retirePeer(session, session.peer);
    const peer = this.makePeer(session);
    peer.acceptOffer(description).catch((err) => {
      this.reportError("signal", err);
      this.retirePeer(session, peer);
    });
  }

  /** The console offers when the booth has not within a grace time (see peer.makeOffer). */
  offerFromConsole(session) {
    if (session.peer) this.retirePeer(session, session.peer);
    const peer = this.makePeer(session);
    session.lastOwnOfferAt = Date.now();
    peer.makeOffer().catch((err) => {
      this.reportError("signal", err);
      this.retirePeer(session, peer);
    });
  }

  retirePeer(session, peer) {
    peer.close();
    if (session.peer === peer) {
      session.peer = null;
      session.waitingSince = Date.now();
      this.updateTile(session);
    }
  }

  /**
   * Media watchdog, once a second: a session without a live peer gets the console's own
   * offer after a grace time (shorter after a reload, when the booth may think its old
   * connection is still up), and a peer stuck connecting is rebuilt.
   */
  watchMedia(session, now) {
    const peer = session.peer;
    if (peer && !peer.closed) {
      const stuck = peer.connectionState !== "connected" && now - peer.createdAt > RECONNECT_STUCK_MS;
      if (!stuck) return;
    }
    const grace = session.restored ? OWN_OFFER_AFTER_RESTORE_MS : OWN_OFFER_AFTER_START_MS;
    if (now - session.waitingSince < grace) return;
    if (session.lastOwnOfferAt && now - session.lastOwnOfferAt < RECONNECT_STUCK_MS) return;
    if (!this.connected) return;
    this.offerFromConsole(session);
  }

  makePeer(session) {
    session.peerGeneration += 1;
    const generation = session.peerGeneration;
    const peer = new SessionPeer({
      sessionId: session.id,
      iceServers: session.iceServers,
      local: this.local,
      sendSignal: (payload) => {
        if (!this.socket || !this.socket.connected) return;
        this.socket.emit("signal", payload).catch((err) => {
          // One notice per peer is enough; candidates come in bursts.
          if (!peer.signalErrorShown) {
            peer.signalErrorShown = true;
            this.reportError("signal", err);
          }
        });
      },
      onTrack: (kind, track) => {
        if (session.peer !== peer) return;
        session.tile.setTrack(kind, track);
        if (kind === "video") this.watchFirstFrame(session, peer, generation);
        if (kind === "audio") session.tile.setHeard(session.id === this.focusedId);
      },
      onState: () => {
        if (session.peer !== peer) return;
        if (peer.connectionState === "failed") {
          // Closed on failure; the booth re-offers when it notices, or the watchdog offers.
          this.retirePeer(session, peer);
          return;
        }
        this.updateTile(session);
      },
    });
    peer.setFocused(session.id === this.focusedId);
    session.peer = peer;
    session.hasVideo = false;
    for (const candidate of session.earlyCandidates.splice(0)) peer.addCandidate(candidate);
    this.updateTile(session);
    return peer;
  }

  watchFirstFrame(session, peer, generation) {
    const video = session.tile.video;
    const mark = () => {
      if (session.peer !== peer || peer.firstFrameAt) return;
      peer.firstFrameAt = Date.now();
      if (!session.firstFrameAt) session.firstFrameAt = peer.firstFrameAt;
      session.hasVideo = true;
      this.updateTile(session);
    };
    if (typeof video.requestVideoFrameCallback === "function") video.requestVideoFrameCallback(() => mark());
    else video.addEventListener("loadeddata", mark, { once: true });
    void generation;
  }

  // ---- focus ---------------------------------------------------------------------------

  async focus(id) {
    if (id === this.focusedId) return;
    if (id !== null && !this.sessions.has(id)) return;
    const previous = this.focusedId;
    // Silence the current booth at once (privacy), then switch once the server agrees.
    this.applyFocus(null);
    try {
      await this.emit("focus", { session_id: id });
      this.applyFocus(id);
    } catch {
      this.applyFocus(previous && this.sessions.has(previous) ? previous : null);
    }
  }

  applyFocus(id) {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      const focused = session.id === id;
      const was = session.id === this.focusedId;
      if (was && !focused) session.lastFocusAt = now;
      if (focused) session.everFocused = true;
      if (session.peer) session.peer.setFocused(focused);
      session.tile.setHeard(focused);
    }
    this.focusedId = id;
    this.saveView();
    this.render();
  }

  // ---- officer actions -----------------------------------------------------------------

  async setStatus(status) {
    if (status === this.officer.status) return;
    try {
      await this.emit("set_status", { status });
      this.officer.status = status;
      this.render();
    } catch {
      // reported
    }
  }

  async accept(id) {
    if (!this.acceptClicks) this.acceptClicks = new Map();
    this.acceptClicks.set(id, Date.now());
    this.offers.busy(id, true);
    try {
      await this.emit("accept", { session_id: id });
      const offer = this.offers.remove(id);
      const session = this.sessions.get(id);
      if (session && !session.acceptedAt) session.acceptedAt = this.acceptClicks.get(id);
      void offer;
    } catch (err) {
      this.offers.busy(id, false);
      if (err.code === "not_found" || err.code === "conflict") this.offers.remove(id);
    }
  }

  async decline(id) {
    this.offers.busy(id, true);
    try {
      await this.emit("decline", { session_id: id });
      this.offers.remove(id);
    } catch (err) {
      this.offers.busy(id, false);
      if (err.code === "not_found") this.offers.remove(id);
    }
  }

  async requestDocument(id, kind) {
    const session = this.sessions.get(id);
    if (!session) return;
    try {
      await this.emit("request_document", { session_id: id, kind });
      if (!session.requested.includes(kind)) session.requested.push(kind);
      toast(t("doc.requested", { kind: t(`doc.kind.${kind}`), booth: session.label }), "ok", 3000);
      this.updateTile(session);
    } catch {
      // reported
    }
  }

  addDocument(session, raw, { quiet }) {
    const id = raw.document_id || raw.id;
    if (!id) return;
    let doc = session.documents.get(id);
    if (!doc) {
      doc = {
        id,
        kind: raw.kind || "other",
        quality: raw.quality ?? null,
        status: raw.status && raw.status !== "ready" ? raw.status : "pending",
        reason: raw.reason || null,
        url: null,
        receivedAt: Date.now(),
      };
      session.documents.set(id, doc);
      session.requested = session.requested.filter((k) => k !== doc.kind);
      loadDocumentImage(id, this.auth.token).then(
        (url) => {
          if (!session.documents.has(id)) {
            URL.revokeObjectURL(url);
            return;
          }
          doc.url = url;
          this.updateTile(session);
          this.viewer.refresh(doc);
        },
        (err) => toast(t("doc.load_failed", { message: err.message }), "error"),
      );
      if (!quiet) {
        this.chime.play();
        toast(t("doc.ready", { kind: tMaybe(`doc.kind.${doc.kind}`, doc.kind), booth: session.label }), "offer");
      }
    } else if (raw.status && raw.status !== "ready") {
      doc.status = raw.status;
      doc.reason = raw.reason || doc.reason;
    }
    this.updateTile(session);
  }

  openDocument(sessionId, docId) {
    const session = this.sessions.get(sessionId);
    const doc = session && session.documents.get(docId);
    if (doc) this.viewer.open(doc, session.label);
  }

  findDocument(docId) {
    for (const session of this.sessions.values()) {
      const doc = session.documents.get(docId);
      if (doc) return { session, doc };
    }
    return null;
  }

  async review(docId, status, reason) {
    const found = this.findDocument(docId);
    if (!found) return false;
    const payload = { document_id: docId, status };
    if (status === "rejected") payload.reason = reason;
    try {
      await this.emit("review_document", payload);
    } catch {
      return false;
    }
    const { session, doc } = found;
    doc.status = status;
    doc.reason = status === "rejected" ? reason : null;
    if (status === "rejected" && !session.requested.includes(doc.kind)) session.requested.push(doc.kind);
    toast(t(`doc.reviewed.${status}`, { kind: tMaybe(`doc.kind.${doc.kind}`, doc.kind) }), status === "approved" ? "ok" : "warn");
    this.updateTile(session);
    this.viewer.refresh(doc);
    return true;
  }

  async complete(id) {
    const session = this.sessions.get(id);
    if (!session) return;
    const form = await completeDialog(session.label);
    if (!form || !this.sessions.has(id)) return;
    const payload = { session_id: id, outcome: form.outcome };
    if (form.note && form.note.trim()) payload.note = form.note.trim();
    session.endingLocally = true;
    try {
      await this.emit("complete", payload);
    } catch {
      session.endingLocally = false;
      return;
    }
    toast(t("session.completed", { booth: session.label }), "ok");
    if (this.sessions.has(id)) this.dropSession(session);
    this.render();
  }

  async transfer(id) {
    const session = this.sessions.get(id);
    if (!session) return;
    let officers = [];
    try {
      const occupancy = await requestJson("/api/occupancy", { token: this.auth.token });
      for (const branch of occupancy.branches || []) {
        for (const officer of branch.officers || []) {
          if (officer.id !== this.officer.id) officers.push(officer);
        }
      }
    } catch (err) {
      officers = [];
      console.warn("occupancy unavailable", err);
    }
    const form = await transferDialog(session.label, officers);
    if (!form || !this.sessions.has(id)) return;
    const payload = { session_id: id };
    if (form.officer_id) payload.officer_id = form.officer_id;
    session.endingLocally = true;
    try {
      await this.emit("transfer", payload);
    } catch {
      session.endingLocally = false;
      return;
    }
    toast(t("session.transferred", { booth: session.label }), "ok");
    if (this.sessions.has(id)) this.dropSession(session);
    this.render();
  }

  // ---- rendering -----------------------------------------------------------------------

  async tick() {
    const now = Date.now();
    for (const session of this.sessions.values()) this.watchMedia(session, now);
    await Promise.all([...this.sessions.values()].map((s) => (s.peer ? s.peer.refreshStats() : null)));
    this.render();
  }

  assessment() {
    const list = [...this.sessions.values()].map((s) => {
      const pending = [...s.documents.values()].filter((d) => d.status === "pending");
      return {
        id: s.id,
        focused: s.id === this.focusedId,
        startedAt: s.startedAt,
        lastFocusAt: s.lastFocusAt,
        everFocused: s.everFocused,
        pendingDocuments: pending.length,
        oldestDocumentAt: pending.length ? Math.min(...pending.map((d) => d.receivedAt)) : null,
      };
    });
    return assess(list, Date.now(), this.unfocusedAlertS);
  }

  phaseOf(session) {
    const peer = session.peer;
    if (!peer) return "waiting_offer";
    if (peer.closed) return "failed";
    const state = peer.connectionState;
    if (state === "connected") return "connected";
    if (state === "disconnected") return "disconnected";
    if (state === "failed") return "failed";
    if (state === "closed") return "closed";
    return "connecting";
  }

  tileView(session, assessment) {
    const info = assessment.bySession.get(session.id) || { reasons: [], overdue: false, unfocusedS: 0 };
    const quality = session.peer ? session.peer.quality : { fps: null, loss: null, rtt: null };
    const phase = this.phaseOf(session);
    let qualityLevel = "unknown";
    if (phase === "connected" && quality.fps !== null) {
      const bad = (quality.loss ?? 0) > 5 || (quality.rtt ?? 0) > 400 || quality.fps < 5;
      const fair = (quality.loss ?? 0) > 1 || (quality.rtt ?? 0) > 150 || quality.fps < 10;
      qualityLevel = bad ? "poor" : fair ? "fair" : "good";
    }
    return {
      slot: session.slot,
      label: session.label,
      ticket: session.ticket,
      elapsedS: (Date.now() - session.startedAt) / 1000,
      focused: session.id === this.focusedId,
      suggested: session.id === assessment.next,
      overdue: info.overdue,
      unfocusedS: info.unfocusedS,
      reasons: info.reasons,
      phase,
      hasVideo: session.hasVideo,
      quality,
      qualityLevel,
      requested: session.requested,
      documents: [...session.documents.values()],
    };
  }

  updateTile(session) {
    if (!this.sessions.has(session.id)) return;
    session.tile.update(this.tileView(session, this.assessment()));
  }

  render() {
    const assessment = this.assessment();
    this.next = assessment.next;
    const bySlot = new Map();
    for (const session of this.sessions.values()) {
      bySlot.set(session.slot, session.tile);
      session.tile.update(this.tileView(session, assessment));
    }
    const emptyText = this.officer.status === "paused" ? t("slot.paused") : t("slot.waiting");
    this.grid.render(this.officer.capacity, bySlot, emptyText);
    this.renderHeader();
    this.renderNext(assessment);
  }

  renderHeader() {
    $("officer-name").textContent = this.officer.name || this.officer.id || this.auth.username;
    for (const button of $("status-switch").querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.status === this.officer.status));
    }
    $("status-switch").dataset.status = this.officer.status;
    // The server sends load only with `state`; sessions plus pending offers is the live figure.
    const load = this.sessions.size + this.offers.ids().length;
    $("load").textContent = `${load}/${this.officer.capacity ?? "?"}`;
    const conn = $("conn");
    const state = this.connected ? "online" : this.everConnected ? "offline" : "connecting";
    conn.dataset.state = state;
    conn.textContent = t(`conn.${state}`);
    const focused = this.focusedId && this.sessions.get(this.focusedId);
    $("focus-label").textContent = focused ? t("focus.now", { booth: focused.label }) : t("focus.none");
    $("focus-label").classList.toggle("on", Boolean(focused));
    document.title = (this.offers.ids().length ? `(${this.offers.ids().length}) ` : "") + t("app.title");
  }

  renderNext(assessment) {
    const box = $("next");
    const session = assessment.next && this.sessions.get(assessment.next);
    if (!session) {
      box.replaceChildren(el("p", { class: "note" }, t("next.none")));
      box.dataset.sessionId = "";
      return;
    }
    const info = assessment.bySession.get(session.id);
    const reason = info.overdue
      ? t("attention.overdue", { time: formatSeconds(info.unfocusedS) })
      : info.reasons.length
        ? info.reasons[0].code === "waiting"
          ? t("attention.waiting", { time: formatSeconds(info.reasons[0].seconds) })
          : t(`attention.${info.reasons[0].code}`)
        : "";
    if (box.dataset.sessionId === session.id && box.dataset.reason === reason) return;
    box.dataset.sessionId = session.id;
    box.dataset.reason = reason;
    box.replaceChildren(
      el(
        "div",
        { class: "next-card" },
        el("span", { class: "slot-key" }, String(session.slot)),
        el("div", {}, el("strong", {}, session.label), el("span", { class: "note" }, reason)),
        el("button", { type: "button", class: "btn btn-small btn-primary", id: "next-go", onclick: () => this.focus(session.id) }, t("next.go")),
      ),
    );
  }

  saveView() {
    const slots = {};
    const greeted = [];
    const ice = {};
    for (const s of this.sessions.values()) {
      slots[s.id] = s.slot;
      if (s.iceServers && s.iceServers.length) ice[s.id] = s.iceServers;
      if (s.everFocused) greeted.push(s.id);
    }
    this.saved = { focused: this.focusedId, slots, greeted, ice };
    try {
      sessionStorage.setItem(VIEW_KEY, JSON.stringify(this.saved));
    } catch {
      // fine: only layout comfort is lost
    }
  }

  snapshot() {
    const assessment = this.assessment();
    const sessions = [...this.sessions.values()]
      .sort((a, b) => a.slot - b.slot)
      .map((s) => {
        const peer = s.peer;
        const info = assessment.bySession.get(s.id);
        return {
          session_id: s.id,
          booth_id: s.booth.id || null,
          label: s.label,
          ticket: s.ticket,
          slot: s.slot,
          focused: s.id === this.focusedId,
          phase: this.phaseOf(s),
          pc: peer
            ? {
                connectionState: peer.pc.connectionState,
                iceConnectionState: peer.pc.iceConnectionState,
                signalingState: peer.pc.signalingState,
              }
            : null,
          peerGeneration: s.peerGeneration,
          framesDecoded: peer ? peer.quality.framesDecoded : 0,
          fps: peer ? peer.quality.fps : null,
          loss: peer ? peer.quality.loss : null,
          rtt: peer ? peer.quality.rtt : null,
          frameWidth: peer ? peer.quality.frameWidth ?? null : null,
          frameHeight: peer ? peer.quality.frameHeight ?? null : null,
          micEnabled: peer && peer.micClone ? peer.micClone.enabled : false,
          micTrackId: peer && peer.micClone ? peer.micClone.id : null,
          remoteAudioMuted: s.tile.audio.muted,
          hasRemoteAudio: Boolean(s.tile.audio.srcObject),
          hasVideo: s.hasVideo,
          videoWidth: s.tile.video.videoWidth,
          attention: info ? info.reasons.map((r) => r.code) : [],
          overdue: info ? info.overdue : false,
          requested: [...s.requested],
          documents: [...s.documents.values()].map((d) => ({
            document_id: d.id,
            kind: d.kind,
            status: d.status,
            reason: d.reason,
            loaded: Boolean(d.url),
          })),
          startedAt: s.startedAt,
          createdAt: s.createdAt,
          acceptedAt: s.acceptedAt,
          firstFrameAt: s.firstFrameAt,
          peerCreatedAt: peer ? peer.createdAt : null,
          peerConnectedAt: peer ? peer.connectedAt : null,
          peerFirstFrameAt: peer ? peer.firstFrameAt ?? null : null,
          restored: s.restored,
        };
      });
    return {
      signedIn: true,
      connected: this.connected,
      officer: { ...this.officer },
      focused: this.focusedId,
      next: assessment.next,
      unfocusedAlertS: this.unfocusedAlertS,
      autoAccept: this.autoAccept,
      offers: this.offers.ids(),
      stateCount: this.stateCount,
      lastStateAt: this.lastStateAt,
      localMedia: { mic: Boolean(this.local.micTrack), camera: Boolean(this.local.camTrack) },
      lang: getLanguage(),
      sessions,
    };
  }
}

function formatSeconds(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readSavedView() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(VIEW_KEY) || "null");
    if (saved && typeof saved === "object") return { focused: null, slots: {}, greeted: [], ice: {}, ...saved };
  } catch {
    // start fresh
  }
  return { focused: null, slots: {}, greeted: [], ice: {} };
}

// ---- sign-in page ------------------------------------------------------------------------

function showLogin(message) {
  $("console-view").hidden = true;
  $("login-view").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("login-submit").disabled = false;
  $("login-submit").textContent = t("login.submit");
  $("login-password").value = "";
  $("login-username").focus();
}

async function onLoginSubmit(event) {
  event.preventDefault();
  const button = $("login-submit");
  const error = $("login-error");
  button.disabled = true;
  button.textContent = t("login.busy");
  error.hidden = true;
  const chime = new Chime();
  chime.unlock(); // inside the click: lets later offer chimes play
  try {
    const auth = await signIn.login($("login-username").value.trim(), $("login-password").value);
    if (auth.role && auth.role !== "officer" && auth.role !== "cso") {
      signIn.clear();
      throw new ApiError("forbidden", t("login.wrong_role", { role: auth.role }));
    }
    startConsole(auth, chime);
  } catch (err) {
    button.disabled = false;
    button.textContent = t("login.submit");
    error.hidden = false;
    error.textContent =
      err.code === "forbidden" ? err.message : t("login.failed", { message: err.message || String(err) });
  }
}

function startConsole(auth, chime) {
  app = new ConsoleApp(auth);
  if (chime) app.chime = app.offers.chime = chime;
  app.start().catch((err) => toast(t("error.generic", { message: err.message }), "error"));
}

function bindLanguageSwitches() {
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  const mark = () => {
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === getLanguage()));
    }
    if (app) app.renderHeader();
    else document.title = t("app.title");
  };
  onLanguageChange(mark);
  mark();
}

function boot() {
  document.documentElement.lang = getLanguage();
  renderFrame({ logo: "console", subtitleKey: "app.subtitle", titleKey: "login.title" });
  applyTranslations(document);
  bindLanguageSwitches();
  $("login-form").addEventListener("submit", onLoginSubmit);
  const saved = signIn.load();
  if (saved) startConsole(saved, null);
  else showLogin();
}

Object.defineProperty(window, "__consoleState", {
  configurable: false,
  get() {
    return app ? app.snapshot() : { signedIn: false, connected: false, sessions: [], focused: null };
  },
});

// For tests: cut the signaling connection as a network drop would (Socket.IO reconnects).
window.__consoleTest = Object.freeze({
  dropConnection() {
    if (app && app.socket) app.socket.socket.io.engine.close();
  },
});

boot();
