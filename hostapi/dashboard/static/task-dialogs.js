// Modal confirmations with the native <dialog> (focus trapped, Escape cancels), for destructive actions.

import { h, toast } from "./ui.js";

/**
 * Ask before acting. `body` may hold extra fields (a form); `onConfirm` may throw to keep the dialog open
 * (its message is shown inside; with `closeOnError` the dialog closes and the message goes to a toast). Resolves to true when confirmed and `onConfirm` succeeded.
 */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false, body = null,
  onConfirm = null, closeOnError = false }) {
  return new Promise((resolve) => {
    const error = h("p", { class: "field-error dialog-error", role: "alert" });
    const ok = h("button", { type: "submit", class: ["btn", danger ? "danger-solid" : "primary"] }, confirmLabel);
    const cancel = h("button", { type: "button", class: "btn" }, "Keep it as is");
    const form = h("form", { method: "dialog", novalidate: true }, // fields of `body` check themselves (input-form.js)
      h("h2", { id: "dialog-title" }, title),
      message ? h("p", {}, message) : null,
      body, error,
      h("div", { class: "actions dialog-actions" }, cancel, ok));
    const dialog = h("dialog", { class: "confirm-dialog", "aria-labelledby": "dialog-title" }, form);
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      finish(false);
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!onConfirm) return finish(true);
      ok.disabled = true;
      error.textContent = "";
      try {
        await onConfirm(form, error);
        finish(true);
      } catch (e) {
        if (closeOnError) {
          toast(e && e.message ? e.message : String(e), "error");
          finish(false);
          return;
        }
        if (!error.textContent) error.textContent = e && e.message ? e.message : String(e);
        ok.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    (body && body.querySelector("input, select, textarea") || cancel).focus();
  });
}
