// The tile grid: one slot per unit of the officer's capacity, a live tile per session.
// Tiles keep their DOM (and above all their <video>) for the whole session; update() only
// rewrites the parts that change.

import { el, formatDuration } from "/shared/util.js";
import { t, tMaybe } from "/shared/i18n.js";
import { icon } from "./icons.js";

export const DOCUMENT_KINDS = ["ktp", "kpj", "kk", "paklaring", "bank_book", "npwp", "other"];

export class Tile {
  /** actions: {focus(id), requestDocument(id, kind), complete(id), transfer(id), openDocument(id, docId)} */
  constructor(sessionId, actions) {
    this.sessionId = sessionId;
    this.actions = actions;
    // No picture-in-picture: Firefox would float its "pop out" toggle over the video, where a
    // click is meant to focus the tile, and a popped-out booth leaves its slot.
    this.video = el("video", {
      class: "tile-video",
      autoplay: true,
      playsInline: true,
      muted: true,
      disablePictureInPicture: true,
    });
    this.video.muted = true;
    this.audio = el("audio", { class: "tile-audio", autoplay: true });
    this.audio.muted = true;
    this.slotKey = el("span", { class: "slot-key" });
    this.label = el("strong", { class: "booth-label" });
    this.ticket = el("span", { class: "ticket" });
    this.timer = el("span", { class: "timer" }, icon("clock"), el("span"));
    this.focusBadge = el("span", { class: "focus-badge" });
    this.overlay = el("div", { class: "tile-overlay" }, el("span", { class: "spinner" }), el("span"));
    this.audioState = el("div", { class: "audio-state" });
    this.qualityDot = el("span", { class: "q-dot" });
    this.qualityText = el("span", { class: "q-text" });
    this.stateText = el("span", { class: "state-text" });
    this.attention = el("ul", { class: "attention" });
    this.docs = el("div", { class: "docs" });
    this.kindSelect = el(
      "select",
      { class: "kind-select", onclick: stop, onkeydown: (e) => e.stopPropagation() },
      DOCUMENT_KINDS.map((kind) => el("option", { value: kind })),
    );
    this.requestButton = el("button", {
      class: "btn btn-small",
      dataset: { action: "request" },
      type: "button",
      onclick: (e) => {
        stop(e);
        this.actions.requestDocument(this.sessionId, this.kindSelect.value);
      },
    });
    this.completeButton = el("button", {
      class: "btn btn-small btn-primary",
      dataset: { action: "complete" },
      type: "button",
      onclick: (e) => {
        stop(e);
        this.actions.complete(this.sessionId);
      },
    });
    this.transferButton = el("button", {
      class: "btn btn-small btn-ghost btn-square",
      dataset: { action: "transfer" },
      type: "button",
      onclick: (e) => {
        stop(e);
        this.actions.transfer(this.sessionId);
      },
    });
    this.root = el(
      "article",
      {
        class: "tile",
        tabIndex: 0,
        dataset: { sessionId },
        onclick: () => this.actions.focus(this.sessionId),
      },
      el(
        "header",
        { class: "tile-head" },
        this.slotKey,
        el("div", { class: "tile-title" }, this.label, this.ticket),
        this.focusBadge,
        this.timer,
      ),
      el("div", { class: "tile-media" }, this.video, this.audio, this.overlay, this.docs, this.audioState),
      el("div", { class: "tile-quality" }, this.qualityDot, this.qualityText, this.stateText),
      this.attention,
      el(
        "footer",
        { class: "tile-actions" },
        el("div", { class: "request-group" }, this.kindSelect, this.requestButton),
        el("div", { class: "spacer" }),
        this.transferButton,
        this.completeButton,
      ),
    );
    this.docNodes = new Map();
    this.translate();
  }

  translate() {
    for (const option of this.kindSelect.options) option.textContent = t(`doc.kind.${option.value}`);
    this.kindSelect.title = t("tile.request");
    this.requestButton.replaceChildren(icon("doc"), el("span", {}, t("tile.request.go")));
    this.requestButton.title = t("tile.request");
    this.completeButton.replaceChildren(icon("check"), el("span", {}, t("tile.complete")));
    this.transferButton.replaceChildren(icon("transfer"));
    this.transferButton.title = t("tile.transfer");
    this.transferButton.setAttribute("aria-label", t("tile.transfer"));
    this.focusBadge.textContent = t("tile.focused");
    this.root.title = t("tile.focus_hint");
  }

  setTrack(kind, track) {
    const target = kind === "video" ? this.video : this.audio;
    target.srcObject = new MediaStream([track]);
    const played = target.play();
    if (played && kind === "audio") {
      played.catch(() => this.actions.audioBlocked?.(this.sessionId));
    } else if (played) played.catch(() => {});
  }

  /** Un-mutes only the focused session's remote audio; retries play() if autoplay held it. */
  setHeard(heard) {
    this.audio.muted = !heard;
    if (heard && this.audio.srcObject && this.audio.paused) {
      this.audio.play().catch(() => this.actions.audioBlocked?.(this.sessionId));
    }
  }

  /** view: see ConsoleApp.tileView() */
  update(view) {
    this.slotKey.textContent = String(view.slot);
    this.label.textContent = view.label;
    this.ticket.textContent = view.ticket ? t("tile.ticket", { ticket: view.ticket }) : t("tile.no_ticket");
    this.timer.lastChild.textContent = formatDuration(view.elapsedS);
    this.root.classList.toggle("focused", view.focused);
    this.root.classList.toggle("overdue", view.overdue);
    this.root.classList.toggle("suggested", view.suggested);
    this.root.classList.toggle("live", view.phase === "connected");
    this.root.dataset.phase = view.phase;
    this.overlay.hidden = view.phase === "connected" && view.hasVideo;
    this.overlay.lastChild.textContent = t(`tile.state.${view.phase}`);
    this.audioState.replaceChildren(
      icon(view.focused ? "mic" : "micOff"),
      icon(view.focused ? "speaker" : "speakerOff"),
    );
    this.audioState.classList.toggle("on", view.focused);
    this.audioState.title = view.focused ? t("tile.focused") : t("tile.muted");

    const q = view.quality;
    const parts = [];
    if (q.fps !== null && q.fps !== undefined) parts.push(t("tile.fps", { fps: Math.round(q.fps) }));
    if (q.loss !== null && q.loss !== undefined) parts.push(t("tile.loss", { loss: q.loss.toFixed(1) }));
    if (q.rtt !== null && q.rtt !== undefined) parts.push(t("tile.rtt", { rtt: q.rtt }));
    this.qualityText.textContent = parts.length ? parts.join(" · ") : "—";
    this.qualityDot.className = `q-dot q-${view.qualityLevel}`;
    this.qualityDot.title = t(`tile.quality.${view.qualityLevel}`);
    this.stateText.textContent = t(`tile.state.${view.phase}`);

    const chips = [
      ...view.reasons.map((reason) => {
        let text;
        if (reason.code === "waiting") text = t("attention.waiting", { time: formatDuration(reason.seconds) });
        else text = t(`attention.${reason.code}`);
        return el("li", { class: `chip chip-${reason.code}` }, text);
      }),
      view.overdue
        ? el("li", { class: "chip chip-overdue" }, t("attention.overdue", { time: formatDuration(view.unfocusedS) }))
        : null,
      ...view.requested.map((kind) =>
        el("li", { class: "chip chip-requested" }, t("tile.requested", { kind: t(`doc.kind.${kind}`) })),
      ),
    ].filter(Boolean);
    this.attention.replaceChildren(...chips);
    this.updateDocuments(view.documents);
  }

  updateDocuments(documents) {
    const seen = new Set();
    for (const doc of documents) {
      seen.add(doc.id);
      let node = this.docNodes.get(doc.id);
      if (!node) {
        node = el(
          "button",
          {
            class: "doc-thumb",
            type: "button",
            dataset: { documentId: doc.id },
            onclick: (e) => {
              stop(e);
              this.actions.openDocument(this.sessionId, doc.id);
            },
          },
          el("img", { alt: "" }),
          el("span", { class: "doc-caption" }),
        );
        this.docNodes.set(doc.id, node);
        this.docs.append(node);
      }
      const img = node.firstChild;
      if (doc.url && img.getAttribute("src") !== doc.url) img.src = doc.url;
      node.dataset.status = doc.status;
      node.lastChild.textContent = `${tMaybe(`doc.kind.${doc.kind}`, doc.kind)} · ${t(`doc.status.${doc.status}`)}`;
      node.title = node.lastChild.textContent;
    }
    for (const [id, node] of this.docNodes) {
      if (!seen.has(id)) {
        node.remove();
        this.docNodes.delete(id);
      }
    }
    this.docs.hidden = documents.length === 0;
  }

  destroy() {
    for (const media of [this.video, this.audio]) {
      media.srcObject = null;
    }
    this.root.remove();
  }
}

function stop(event) {
  event.stopPropagation();
}

/** Lays the tiles and free slots out in capacity order. */
export class TileGrid {
  constructor(container) {
    this.container = container;
    this.empties = new Map();
  }

  emptySlot(slot, emptyText) {
    let node = this.empties.get(slot);
    if (!node) {
      node = el(
        "div",
        { class: "tile tile-empty", dataset: { slot: String(slot) } },
        el("span", { class: "slot-key" }, String(slot)),
        el("div", { class: "empty-body" }, el("strong"), el("span")),
      );
      this.empties.set(slot, node);
    }
    const body = node.lastChild;
    body.firstChild.textContent = t("slot.empty");
    body.lastChild.textContent = emptyText;
    return node;
  }

  render(capacity, tilesBySlot, emptyText) {
    const slots = Math.max(1, Math.min(6, capacity || 1), ...[...tilesBySlot.keys()]);
    this.container.dataset.count = String(slots);
    const nodes = [];
    for (let slot = 1; slot <= slots; slot += 1) {
      const tile = tilesBySlot.get(slot);
      if (tile) nodes.push(tile.root);
      else nodes.push(this.emptySlot(slot, emptyText));
    }
    // Re-appending an element moves it; keep live tiles in place when order is unchanged,
    // because moving a <video> in some browsers pauses it.
    const current = [...this.container.children];
    const same = current.length === nodes.length && current.every((node, i) => node === nodes[i]);
    if (same) return;
    for (const [i, node] of nodes.entries()) {
      const at = this.container.children[i];
      if (at !== node) this.container.insertBefore(node, at || null);
    }
    while (this.container.children.length > nodes.length) this.container.lastElementChild.remove();
    for (const media of this.container.querySelectorAll("video, audio")) {
      if (media.srcObject && media.paused) media.play().catch(() => {});
    }
  }
}
