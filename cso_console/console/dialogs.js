// Modal dialogs built on <dialog>: complete a session, transfer it, and a simple helper to
// run a form dialog and resolve with its values (or null when cancelled).

import { el } from "/shared/util.js";
import { t } from "/shared/i18n.js";

export const OUTCOMES = ["claim_submitted", "incomplete_documents", "referred", "other"];

/** Shows a modal form; fields is a list of nodes; resolves FormData-like object or null. */
export function formDialog({ title, fields, submitLabel, submitClass = "btn-primary", id }) {
  return new Promise((resolve) => {
    const form = el("form", { method: "dialog", class: "dialog-form" });
    const cancel = el("button", { type: "button", class: "btn btn-ghost", value: "cancel" }, t("cancel"));
    const submit = el("button", { type: "submit", class: `btn ${submitClass}`, value: "ok" }, submitLabel);
    form.append(el("h2", {}, title), ...fields, el("div", { class: "dialog-actions" }, cancel, submit));
    const dialog = el("dialog", { class: "modal", id }, form);
    document.body.append(dialog);
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      result = Object.fromEntries(new FormData(form).entries());
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    dialog.showModal();
    const first = form.querySelector("select, input, textarea");
    if (first) first.focus();
  });
}

export function completeDialog(boothLabel) {
  const outcome = el(
    "select",
    { name: "outcome", required: true },
    OUTCOMES.map((o) => el("option", { value: o }, t(`outcome.${o}`))),
  );
  const note = el("textarea", { name: "note", rows: 3, maxLength: 500 });
  return formDialog({
    id: "complete-dialog",
    title: t("complete.title", { booth: boothLabel }),
    fields: [
      el("label", { class: "field" }, el("span", {}, t("complete.outcome")), outcome),
      el("label", { class: "field" }, el("span", {}, t("complete.note")), note),
    ],
    submitLabel: t("complete.go"),
  });
}

/** officers: [{id, name, status, load, capacity}] other than the current officer. */
export function transferDialog(boothLabel, officers) {
  const target = el(
    "select",
    { name: "officer_id" },
    el("option", { value: "" }, t("transfer.queue")),
    officers.map((o) =>
      el(
        "option",
        { value: o.id, disabled: o.status === "offline" },
        t("transfer.officer", {
          name: o.name || o.id,
          status: t(`status.${o.status}`),
          load: o.load ?? "?",
          capacity: o.capacity ?? "?",
        }),
      ),
    ),
  );
  return formDialog({
    id: "transfer-dialog",
    title: t("transfer.title", { booth: boothLabel }),
    fields: [el("label", { class: "field" }, el("span", {}, t("transfer.target")), target)],
    submitLabel: t("transfer.go"),
  });
}
