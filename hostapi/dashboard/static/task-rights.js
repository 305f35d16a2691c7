// What the signed-in user may do on a task, mirroring core/engine/rights.py (reference §7.3 / §8) and the state
// rules of the routes (§7.4). Only used to decide which controls to show: the server stays the judge.

const ACTIVE_REFUSED = ["CANCELLED", "RUNNING", "DONE"]; // run, cancel, pause (not forced)
const START_OVER_FROM = ["PAUSED", "BLOCKED_BADREQUEST", "CANCELLED"];

const list = (v) => (Array.isArray(v) ? v : []);
const intersects = (a, b) => list(a).some((x) => list(b).includes(x));

/** Who the user is for this task, and which actions the current states allow. */
export function taskRights(meta, task, template, resolution) {
  const user = (meta && meta.username) || "";
  const groups = (meta && meta.user_groups) || [];
  const admin = Boolean(meta && meta.user_is_admin);
  const named = (names) => Boolean(user) && list(names).includes(user);
  const requester = Boolean(user) && user === (task.requester_username || "");
  const watcher = named(task.watcher_usernames) || intersects(groups, task.watcher_groups);
  const owner = Boolean(template) && (named(template.allowed_resolver_usernames)
    || intersects(groups, template.allowed_resolver_groups));
  const taskResolver = named(task.resolver_usernames) || intersects(groups, task.resolver_groups);
  const resolutionResolver = Boolean(resolution) && Boolean(user) && user === (resolution.resolver_username || "");
  const manager = owner || taskResolver || resolutionResolver;
  const manage = admin || manager;
  const rs = resolution ? resolution.state : null;

  const roles = [];
  if (admin) roles.push("admin");
  if (requester) roles.push("requester");
  if (watcher) roles.push("watcher");
  if (owner) roles.push("template resolver");
  else if (taskResolver || resolutionResolver) roles.push("resolver");

  return {
    user, groups, admin, requester, watcher, owner, manager, roles,
    seesOutputs: manage,
    resolve: manage && !resolution && !["WONTFIX", "CANCELLED", "DONE"].includes(task.state),
    run: manage && Boolean(resolution) && !ACTIVE_REFUSED.includes(rs),
    pause: manage && Boolean(resolution) && !ACTIVE_REFUSED.includes(rs) && rs !== "PAUSED",
    forcePause: admin && rs === "RUNNING",
    extend: manage && rs === "BLOCKED_MAXRETRIES",
    cancel: manage && Boolean(resolution) && !ACTIVE_REFUSED.includes(rs),
    wontfix: (admin || requester || owner || taskResolver) && task.state === "TODO",
    startOver: Boolean(resolution) && (admin || (manager && Boolean(template && template.allow_task_start_over)))
      && START_OVER_FROM.includes(rs),
    changeStepState: admin || owner,
    comment: admin || requester || watcher || manager,
  };
}

/** Whether the user may answer a manual-input form (µTask `input` step): admin, manager or listed. */
export function mayAnswer(rights, form) {
  if (rights.admin || rights.manager) return true;
  return (Boolean(rights.user) && list(form.allowed_usernames).includes(rights.user))
    || intersects(rights.groups, form.allowed_groups);
}

/** The people who can act on the resolution, for "waiting for …" messages. */
export function resolverNames(task, template) {
  const names = [...list(template && template.allowed_resolver_usernames), ...list(task.resolver_usernames)];
  const groups = [...list(template && template.allowed_resolver_groups), ...list(task.resolver_groups)];
  return [...new Set(names)].concat([...new Set(groups)].map((g) => `group ${g}`));
}
