// Incoming offers (reservations): a card each with a countdown of expires_in_s, accept and
// decline, a chime, and a pulsing header badge so an offer is noticed even mid-conversation.

import { el } from "/shared/util.js";
import { t, tMaybe } from "/shared/i18n.js";
import { icon } from "./icons.js";

export class OfferPanel {
  /** actions: {accept(id), decline(id)}; container: the list element; badge: header cue */
  constructor(container, badge, chime, actions) {
    this.container = container;
    this.badge = badge;
    this.chime = chime;
    this.actions = actions;
    this.offers = new Map();
    this.timer = setInterval(() => this.tick(), 250);
  }

  add(offer) {
    const id = offer.session_id;
    if (!id) return;
    this.remove(id);
    const expiresAt = Date.now() + Math.max(0, Number(offer.expires_in_s) || 0) * 1000;
    const total = Math.max(1, Number(offer.expires_in_s) || 1);
    const countdown = el("span", { class: "countdown" });
    const bar = el("span", { class: "countdown-bar" }, el("span"));
    const acceptButton = el("button", {
      class: "btn btn-accept",
      type: "button",
      dataset: { action: "accept" },
      onclick: () => this.actions.accept(id),
    });
    const declineButton = el("button", {
      class: "btn btn-ghost",
      type: "button",
      dataset: { action: "decline" },
      onclick: () => this.actions.decline(id),
    });
    const booth = offer.booth || {};
    const title = el("strong", { class: "offer-booth" }, booth.label || booth.id || id);
    const meta = el("span", { class: "offer-meta" });
    const node = el(
      "div",
      { class: "offer-card", dataset: { sessionId: id } },
      el("div", { class: "offer-icon" }, icon("bell")),
      el("div", { class: "offer-body" }, title, meta, bar),
      countdown,
      el("div", { class: "offer-actions" }, declineButton, acceptButton),
    );
    const entry = { offer, node, countdown, bar, expiresAt, total, acceptButton, declineButton, meta };
    this.offers.set(id, entry);
    this.container.append(node);
    this.translateEntry(entry);
    this.tick();
    this.chime.play();
    this.refreshBadge();
    return entry;
  }

  has(id) {
    return this.offers.has(id);
  }

  busy(id, busy) {
    const entry = this.offers.get(id);
    if (!entry) return;
    entry.acceptButton.disabled = busy;
    entry.declineButton.disabled = busy;
  }

  remove(id) {
    const entry = this.offers.get(id);
    if (!entry) return null;
    entry.node.remove();
    this.offers.delete(id);
    this.refreshBadge();
    return entry.offer;
  }

  clear() {
    for (const id of [...this.offers.keys()]) this.remove(id);
  }

  tick() {
    const now = Date.now();
    for (const [id, entry] of this.offers) {
      const left = Math.max(0, (entry.expiresAt - now) / 1000);
      entry.countdown.textContent = t("offer.expires", { s: Math.ceil(left) });
      entry.bar.firstChild.style.width = `${Math.min(100, (100 * left) / entry.total)}%`;
      entry.node.classList.toggle("urgent", left <= 5);
      // The server withdraws an expired offer; drop it locally a little later in case that
      // message was lost with a network drop.
      if (left <= 0 && now - entry.expiresAt > 3000) this.remove(id);
    }
  }

  translateEntry(entry) {
    const offer = entry.offer;
    entry.acceptButton.textContent = t("offer.accept");
    entry.declineButton.textContent = t("offer.decline");
    const kind = offer.kind ? tMaybe(`offer.kind.${offer.kind}`, offer.kind) : null;
    const ticket = offer.ticket ? t("tile.ticket", { ticket: offer.ticket }) : null;
    entry.meta.textContent = [ticket, kind].filter(Boolean).join(" · ");
  }

  translate() {
    for (const entry of this.offers.values()) this.translateEntry(entry);
    this.tick();
  }

  refreshBadge() {
    const n = this.offers.size;
    this.badge.textContent = String(n);
    this.badge.hidden = n === 0;
    this.container.dataset.empty = n === 0 ? "true" : "false";
    document.body.classList.toggle("has-offer", n > 0);
  }

  ids() {
    return [...this.offers.keys()];
  }
}
