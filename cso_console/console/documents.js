// Document stills: loading them with the officer's token, and the review viewer (zoom,
// rotate, full resolution; approve, or reject with a reason so the kiosk captures again).

import { el, clamp } from "/shared/util.js";
import { fetchObjectUrl } from "/shared/api.js";
import { t, tMaybe } from "/shared/i18n.js";
import { icon } from "./icons.js";

export const REJECT_REASONS = ["blurry", "glare", "cut_off", "wrong_document", "unreadable", "data_mismatch"];

export function loadDocumentImage(documentId, token) {
  return fetchObjectUrl(`/api/documents/${encodeURIComponent(documentId)}`, token);
}

/** quality may be a number (0..1 or 0..100) or an object of named measures. */
export function describeQuality(quality) {
  if (quality === null || quality === undefined) return "—";
  if (typeof quality === "number") {
    const pct = quality <= 1 ? quality * 100 : quality;
    return `${Math.round(pct)}%`;
  }
  if (typeof quality === "object") {
    return Object.entries(quality)
      .map(([k, v]) => `${k}: ${typeof v === "number" ? Math.round(v * 100) / 100 : v}`)
      .join(", ");
  }
  return String(quality);
}

function qualityRows(quality) {
  if (quality && typeof quality === "object") {
    return Object.entries(quality).flatMap(([name, value]) => [
      el("dt", {}, tMaybe(`doc.quality.${name}`, name)),
      el("dd", {}, typeof value === "number" ? String(Math.round(value * 100) / 100) : String(value)),
    ]);
  }
  return [el("dt", {}, t("doc.viewer.quality")), el("dd", {}, describeQuality(quality))];
}

export class DocumentViewer {
  /** actions: {review(documentId, status, reason) → Promise} */
  constructor(actions) {
    this.actions = actions;
    this.dialog = null;
  }

  get openDocumentId() {
    return this.dialog ? this.doc.id : null;
  }

  /** doc: {id, kind, quality, status, reason, url}; boothLabel for the title. */
  open(doc, boothLabel) {
    this.close();
    this.doc = doc;
    this.rotation = 0;
    this.scale = null; // null = fit to the stage
    this.img = el("img", { class: "viewer-img", alt: tMaybe(`doc.kind.${doc.kind}`, doc.kind) });
    this.frame = el("div", { class: "viewer-frame" }, this.img);
    this.stage = el("div", { class: "viewer-stage" }, this.frame);
    this.zoomLabel = el("span", { class: "zoom-label" });
    const tool = (name, label, fn, action) =>
      el("button", { type: "button", class: "btn btn-icon", title: label, "aria-label": label, dataset: { action }, onclick: fn }, icon(name));
    const toolbar = el(
      "div",
      { class: "viewer-toolbar" },
      tool("zoomOut", t("doc.viewer.zoom_out"), () => this.zoomBy(1 / 1.25), "zoom-out"),
      this.zoomLabel,
      tool("zoomIn", t("doc.viewer.zoom_in"), () => this.zoomBy(1.25), "zoom-in"),
      tool("rotate", t("doc.viewer.rotate"), () => this.rotate(), "rotate"),
      tool("fit", t("doc.viewer.fit"), () => this.setScale(null), "fit"),
      tool("full", t("doc.viewer.full"), () => this.setScale(1), "full"),
    );
    this.sizeLabel = el("dd");
    this.statusLabel = el("dd", { class: "doc-status" });
    const reason = el(
      "select",
      { class: "reject-reason", name: "reason" },
      REJECT_REASONS.map((r) => el("option", { value: r }, t(`doc.reason.${r}`))),
    );
    this.approveButton = el(
      "button",
      { type: "button", class: "btn btn-accept", dataset: { action: "approve" }, onclick: () => this.review("approved") },
      icon("check"),
      el("span", {}, t("doc.approve")),
    );
    this.rejectButton = el(
      "button",
      { type: "button", class: "btn btn-danger", dataset: { action: "reject" }, onclick: () => this.review("rejected", reason.value) },
      icon("x"),
      el("span", {}, t("doc.reject.go")),
    );
    this.reasonSelect = reason;
    const side = el(
      "aside",
      { class: "viewer-side" },
      el(
        "dl",
        {},
        ...qualityRows(doc.quality),
        el("dt", {}, "ID"),
        el("dd", { class: "mono" }, doc.id),
        el("dt", {}, "px"),
        this.sizeLabel,
        el("dt", {}, t("status.label")),
        this.statusLabel,
      ),
      this.approveButton,
      el("label", { class: "field" }, el("span", {}, t("doc.reject.reason")), reason),
      this.rejectButton,
    );
    const closeButton = el("button", { type: "button", class: "btn btn-ghost", onclick: () => this.close() }, t("close"));
    this.dialog = el(
      "dialog",
      { class: "modal viewer", id: "document-viewer", dataset: { documentId: doc.id } },
      el(
        "div",
        { class: "viewer-head" },
        el("h2", {}, t("doc.viewer.title", { kind: tMaybe(`doc.kind.${doc.kind}`, doc.kind), booth: boothLabel })),
        closeButton,
      ),
      el("div", { class: "viewer-body" }, el("div", { class: "viewer-main" }, toolbar, this.stage), side),
    );
    this.dialog.addEventListener("close", () => {
      if (this.dialog) {
        this.dialog.remove();
        this.dialog = null;
      }
    });
    this.stage.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey) return;
        e.preventDefault();
        this.zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1);
      },
      { passive: false },
    );
    document.body.append(this.dialog);
    this.dialog.showModal();
    this.img.addEventListener("load", () => this.layout());
    this.refresh(doc);
  }

  /** Called when the document's data changes (URL loaded, status reviewed). */
  refresh(doc) {
    if (!this.dialog || doc.id !== this.doc.id) return;
    this.doc = doc;
    if (doc.url && this.img.getAttribute("src") !== doc.url) this.img.src = doc.url;
    this.statusLabel.textContent = t(`doc.status.${doc.status}`) + (doc.reason ? ` — ${t(`doc.reason.${doc.reason}`)}` : "");
    this.statusLabel.dataset.status = doc.status;
    const reviewed = doc.status !== "pending";
    this.approveButton.disabled = reviewed;
    this.rejectButton.disabled = reviewed;
    this.reasonSelect.disabled = reviewed;
  }

  async review(status, reason) {
    this.approveButton.disabled = true;
    this.rejectButton.disabled = true;
    const ok = await this.actions.review(this.doc.id, status, reason);
    if (ok) this.close();
    else this.refresh(this.doc);
  }

  zoomBy(factor) {
    this.setScale(clamp((this.scale ?? this.fitScale()) * factor, 0.05, 8));
  }

  setScale(scale) {
    this.scale = scale;
    this.layout();
  }

  rotate() {
    this.rotation = (this.rotation + 90) % 360;
    this.layout();
  }

  fitScale() {
    const { w, h } = this.rotatedSize();
    if (!w || !h) return 1;
    const box = this.stage.getBoundingClientRect();
    return Math.min((box.width - 16) / w, (box.height - 16) / h, 4);
  }

  rotatedSize() {
    const w = this.img.naturalWidth;
    const h = this.img.naturalHeight;
    return this.rotation % 180 === 0 ? { w, h } : { w: h, h: w };
  }

  layout() {
    if (!this.dialog) return;
    const w = this.img.naturalWidth;
    const h = this.img.naturalHeight;
    if (!w || !h) return;
    this.sizeLabel.textContent = t("doc.viewer.size", { w, h });
    const scale = this.scale ?? this.fitScale();
    const rotated = this.rotatedSize();
    this.frame.style.width = `${rotated.w * scale}px`;
    this.frame.style.height = `${rotated.h * scale}px`;
    this.img.style.width = `${w * scale}px`;
    this.img.style.height = `${h * scale}px`;
    this.img.style.transform = `translate(-50%, -50%) rotate(${this.rotation}deg)`;
    this.zoomLabel.textContent = `${Math.round(scale * 100)}%`;
    this.dialog.dataset.scale = String(scale);
    this.dialog.dataset.rotation = String(this.rotation);
  }

  close() {
    if (this.dialog) {
      const d = this.dialog;
      this.dialog = null;
      if (d.open) d.close();
      d.remove();
    }
  }
}
