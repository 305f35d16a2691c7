// Comments (list, add, edit/delete one's own — admins any) and the audit timeline (GET /task/:id/audit)
// of the task page.

import { del, post, put } from "./api.js";
import { confirmDialog } from "./task-dialogs.js";
import { clearFieldErrors, field, fmtDate, fmtRelative, h, mount, showFieldError, stateBadge, toast } from "./ui.js";

const MIN_COMMENT = 3;
const MAX_COMMENT = 100000;

function when(value) {
  return h("time", { datetime: value, title: fmtDate(value) }, fmtRelative(value) || fmtDate(value));
}

/** The comments card. Returns {element, update(task, rights)}; `onChanged` reloads the task. */
export function commentsSection(taskId, meta, onChanged) {
  const list = h("ol", { class: "comments", "aria-live": "polite" });
  const count = h("span", { class: "muted" });
  let editing = null;
  let last = null;
  let latest = null; // the last task given to update(), also while an edit held the list still

  const textarea = h("textarea", { name: "content", rows: 3, maxlength: MAX_COMMENT });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Add comment");
  const form = h("form", { class: "comment-form" },
    field({ id: "comment-new", label: "Add a comment", control: textarea, hint: `${MIN_COMMENT} to ${MAX_COMMENT} characters.` }),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const content = textarea.value.trim();
    if (content.length < MIN_COMMENT) {
      showFieldError(form, "comment-new", `A comment needs at least ${MIN_COMMENT} characters.`);
      return;
    }
    submit.disabled = true;
    try {
      await post(`task/${taskId}/comment`, { content });
      textarea.value = "";
      toast("Comment added.");
      await onChanged();
    } catch (e) {
      showFieldError(form, "comment-new", e.message);
    } finally {
      submit.disabled = false;
    }
  });

  const canEdit = (c) => meta.user_is_admin || c.username === meta.username;

  function item(c) {
    const body = h("div", { class: "comment-body" }, c.content);
    const tools = canEdit(c) ? h("div", { class: "comment-tools" },
      h("button", { type: "button", class: "link", onclick: () => edit(c, li) }, "Edit"),
      h("button", { type: "button", class: "link danger-link", onclick: () => remove(c) }, "Delete")) : null;
    const edited = c.updated && c.updated !== c.created ? h("span", { class: "muted", title: fmtDate(c.updated) }, " · edited") : null;
    const li = h("li", { class: "comment", dataset: { id: c.id } },
      h("div", { class: "comment-meta" }, h("strong", {}, c.username || "?"), " ", h("span", { class: "muted" }, when(c.created)), edited, tools),
      body);
    return li;
  }

  function edit(c, li) {
    editing = c.id;
    const area = h("textarea", { rows: 3, maxlength: MAX_COMMENT }, "");
    area.value = c.content;
    const save = h("button", { type: "submit", class: "btn primary" }, "Save");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const id = `comment-edit-${c.id}`;
    const f = h("form", { class: "comment-edit" }, field({ id, label: "Edit the comment", control: area }),
      h("div", { class: "actions" }, save, cancel));
    cancel.addEventListener("click", () => {
      editing = null;
      li.replaceWith(item(c));
      catchUp();
    });
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearFieldErrors(f);
      save.disabled = true;
      try {
        await put(`task/${taskId}/comment/${c.id}`, { content: area.value.trim() });
        editing = null;
        toast("Comment updated.");
        // A live update may have brought the edited comment while the edit held the list still (and the
        // page then skips identical data): show what it brought now, then reload.
        catchUp();
        await onChanged();
      } catch (e) {
        showFieldError(f, id, e.message);
      } finally {
        save.disabled = false;
      }
    });
    li.querySelector(".comment-body").replaceWith(f);
    li.querySelector(".comment-tools")?.remove();
    area.focus();
  }

  async function remove(c) {
    await confirmDialog({
      title: "Delete this comment?", message: `“${c.content.slice(0, 140)}${c.content.length > 140 ? "…" : ""}” will be deleted.`,
      confirmLabel: "Delete comment", danger: true,
      onConfirm: async () => {
        await del(`task/${taskId}/comment/${c.id}`);
        toast("Comment deleted.");
        await onChanged();
      },
    });
  }

  const element = h("section", { class: "card comments-card", "aria-labelledby": "comments-title" },
    h("h2", { id: "comments-title" }, "Comments ", count), list, form);

  function update(task, rights) {
    latest = { task, rights };
    form.hidden = !rights.comment;
    const comments = task.comments || [];
    const key = JSON.stringify(comments);
    if (key === last || editing) return;
    last = key;
    count.textContent = `(${comments.length})`;
    mount(list, comments.length ? comments.map(item) : h("li", { class: "muted" }, "No comment yet."));
  }

  function catchUp() {
    if (latest) update(latest.task, latest.rights);
  }

  return { element, update };
}

// -- audit ------------------------------------------------------------------------------------------------------

function detailsText(details, kind) {
  if (!details || typeof details !== "object") return details ? String(details) : "";
  return Object.entries(details).filter(([k]) => !(kind === "manual_action" && k === "action")).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ");
}

const SHOWN = 60;
const KIND_LABELS = { task_created: "Task created", task_state: "Task", resolution_created: "Resolution created",
  resolution_state: "Resolution", step_state: "Step", manual_action: "Manual action" };

function kindLabel(e) {
  const label = KIND_LABELS[e.kind] || e.kind.replace(/_/g, " ");
  const action = e.kind === "manual_action" && e.details && e.details.action;
  return action ? `${label}: ${action}` : label;
}

function kindName(kind) {
  return KIND_LABELS[kind] ? `${KIND_LABELS[kind]} (${kind})` : kind.replace(/_/g, " ");
}

/** The audit card. Returns {element, update(audit) | showError(err)}. */
export function auditSection() {
  const status = h("span", { class: "audit-verified" });
  const filter = h("select", { id: "audit-filter", "aria-label": "Show events of kind" }, h("option", { value: "" }, "All events"));
  const body = h("div", { class: "audit-body" });
  const problems = h("div", {});
  let data = null;
  let showAll = false;
  let lastKey = null;

  function draw() {
    if (!data) return;
    const events = (data.events || []).filter((e) => !filter.value || e.kind === filter.value);
    const shown = showAll ? events : events.slice(-SHOWN);
    const rows = shown.map((e) => h("li", { class: `audit-event kind-${e.kind}`, dataset: { kind: e.kind, seq: String(e.seq) } },
      h("div", { class: "audit-when" }, h("time", { datetime: e.created, title: fmtRelative(e.created) }, fmtDate(e.created))),
      h("div", { class: "audit-what" },
        h("span", { class: "audit-kind" }, kindLabel(e)),
        e.step ? h("span", { class: "audit-step" }, " ", h("code", {}, e.step)) : null,
        e.from_state || e.to_state ? h("span", { class: "audit-change" }, " ",
          e.from_state ? stateBadge(e.from_state) : null, e.from_state && e.to_state ? " → " : null,
          e.to_state ? stateBadge(e.to_state) : null) : null,
        detailsText(e.details, e.kind) ? h("div", { class: "audit-details" }, detailsText(e.details, e.kind)) : null),
      h("div", { class: "audit-actor" }, e.actor ? h("span", {}, "by ", h("strong", {}, e.actor)) : h("span", { class: "muted" }, "engine"),
        e.instance_id !== null && e.instance_id !== undefined ? h("span", { class: "muted" }, ` · instance ${e.instance_id}`) : null)));
    const more = events.length > shown.length
      ? h("button", { type: "button", class: "btn", onclick: () => { showAll = true; draw(); } },
        `Show all ${events.length} events (${events.length - shown.length} older)`) : null;
    mount(body, more, h("ol", { class: "audit-list" }, rows.length ? rows : h("li", { class: "muted" }, "No event.")));
  }
  filter.addEventListener("change", draw);

  const element = h("section", { class: "card audit-card", "aria-labelledby": "audit-title" },
    h("div", { class: "card-head" }, h("h2", { id: "audit-title" }, "Audit trail"), status,
      h("span", { class: "spacer" }), filter),
    problems, body);

  return {
    element,
    update(audit) {
      const key = JSON.stringify([audit.verified, (audit.events || []).length, audit.problems]);
      if (key === lastKey) return;
      lastKey = key;
      data = audit;
      mount(status, audit.verified
        ? h("span", { class: "badge state-ok", title: "The hash chain of this task's events verifies" }, "verified ✓")
        : h("span", { class: "badge state-err", title: "The hash chain does not verify" }, "NOT verified"));
      status.dataset.verified = String(Boolean(audit.verified));
      mount(problems, audit.problems && audit.problems.length
        ? h("ul", { class: "audit-problems", role: "alert" }, audit.problems.map((p) => h("li", {}, typeof p === "string" ? p : JSON.stringify(p))))
        : null);
      const kinds = [...new Set((audit.events || []).map((e) => e.kind))].sort();
      const current = filter.value;
      mount(filter, h("option", { value: "" }, `All events (${(audit.events || []).length})`),
        kinds.map((k) => h("option", { value: k }, kindName(k))));
      filter.value = kinds.includes(current) ? current : "";
      draw();
    },
    showError(err) {
      lastKey = null;
      mount(body, h("p", { class: "muted" }, err.status === 403 ? "You are not allowed to see the audit trail." : `Audit trail unavailable: ${err.message}`));
    },
  };
}
