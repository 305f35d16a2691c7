"""The in-memory resolution graph: steps, reverse-dependency indexes, eligibility and pruning (§5.3).

Everything here is incremental so a result only touches its dependents: the indexes are kept up to date
when steps are added (foreach expansion), removed (contraction) or re-wired, and an EXPANDED foreach
parent keeps a count of its non-final children so it is not rescanned after every child result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import states
from .steps import Step, dependency_parts
from .values_access import publish_step

# Called with (step name, new state) whenever a step changes state (notifications, audit).
StateListener = Callable[[str, str], None]


class Resolution:
    """Steps of one resolution with the bookkeeping the run loop needs."""

    def __init__(self, steps: dict[str, Step]) -> None:
        self.steps = steps
        # dependency name -> dependents (insertion-ordered sets as dicts)
        self.dependents: dict[str, dict[str, None]] = {}
        # same, restricted to non-ANY dependencies: those get pruned with their dependency
        self.prune_dependents: dict[str, dict[str, None]] = {}
        self.parent_of: dict[str, str] = {}
        self.pending_children: dict[str, int] = {}
        self.dirty: dict[str, None] = {}  # changed steps not yet committed
        self.deleted: dict[str, None] = {}  # removed steps (contracted children) not yet committed
        self.listener: StateListener | None = None
        self.values: Any = None  # the templating container, kept in sync with states
        # Steps whose result came back during this run: only those expose try_count/max_retries (QUIRK #15).
        self.completed: set[str] = set()
        for st in steps.values():
            self._index(st)
        for st in steps.values():
            if st.children_steps:
                self._adopt(st)

    # -- indexes --------------------------------------------------------------------------------
    def _index(self, st: Step) -> None:
        for dep_name, dep_states in st.parsed_dependencies:
            self.dependents.setdefault(dep_name, {})[st.name] = None
            if dep_states[0] != states.ANY:
                self.prune_dependents.setdefault(dep_name, {})[st.name] = None

    def _unindex(self, st: Step) -> None:
        for dep_name, _ in st.parsed_dependencies:
            d = self.dependents.get(dep_name)
            if d is not None:
                d.pop(st.name, None)
            p = self.prune_dependents.get(dep_name)
            if p is not None:
                p.pop(st.name, None)

    def _adopt(self, parent: Step) -> None:
        pending = 0
        for child_name in parent.children_steps or ():
            self.parent_of[child_name] = parent.name
            child = self.steps.get(child_name)
            if child is not None and not child.is_final():
                pending += 1
        self.pending_children[parent.name] = pending

    def add_step(self, st: Step) -> None:
        old = self.steps.get(st.name)
        if old is not None:
            self._unindex(old)
        self.steps[st.name] = st
        self._index(st)
        self.mark_dirty(st.name)
        self.deleted.pop(st.name, None)

    def remove_step(self, name: str) -> None:
        st = self.steps.pop(name, None)
        if st is None:
            return
        self._unindex(st)
        self.dependents.pop(name, None)
        self.prune_dependents.pop(name, None)
        self.parent_of.pop(name, None)
        self.dirty.pop(name, None)
        self.deleted[name] = None

    def set_dependencies(self, st: Step, deps: list[str]) -> None:
        self._unindex(st)
        st.set_dependencies(deps)
        self._index(st)
        self.mark_dirty(st.name)

    def set_children(self, parent: Step, children: list[str] | None) -> None:
        for old in parent.children_steps or ():
            if self.parent_of.get(old) == parent.name:
                del self.parent_of[old]
        parent.children_steps = children
        parent.children_steps_map = dict.fromkeys(children, True) if children is not None else None
        if children:
            self._adopt(parent)
        else:
            self.pending_children.pop(parent.name, None)

    def publish(self, st: Step) -> None:
        publish_step(self.values, st, st.name in self.completed)

    def mark_dirty(self, name: str) -> None:
        self.dirty[name] = None

    # -- state changes --------------------------------------------------------------------------
    def _track_final(self, name: str, was_final: bool, now_final: bool) -> None:
        if was_final == now_final:
            return
        parent = self.parent_of.get(name)
        if parent is not None and parent in self.pending_children:
            self.pending_children[parent] += -1 if now_final else 1

    def set_state(self, name: str, state: str) -> None:
        """Every state write goes through here: indexes, the values container and listeners stay in sync."""
        st = self.steps[name]
        old = st.state
        st.state = state
        self.dirty[name] = None
        if old != state:
            self._track_final(name, states.is_final(old), states.is_final(state))
            if self.values is not None:
                self.publish(st)
            if self.listener is not None:
                self.listener(name, state)

    def set_state_and_error(self, name: str, state: str, message: str) -> None:
        """What a met condition does to its target (µTask's resolutionStateSetter)."""
        st = self.steps[name]
        st.error = message
        old = st.state
        self.set_state(name, state)
        if old == state and self.values is not None:
            self.publish(st)

    def replace_step(self, st: Step) -> str | None:
        """Store an executed copy back (µTask's SetStep); returns the previous state."""
        old = self.steps.get(st.name)
        old_state = old.state if old is not None else None
        if old is not st:
            if old is not None and old.dependencies is not st.dependencies and old.dependencies != st.dependencies:
                self._unindex(old)
                self.steps[st.name] = st
                self._index(st)
            else:
                self.steps[st.name] = st
        if old_state is not None:
            self._track_final(st.name, states.is_final(old_state), st.is_final())
        self.dirty[st.name] = None
        return old_state

    # -- eligibility (§5.3) ---------------------------------------------------------------------
    def ancestors_final(self, st: Step, memo: dict[str, bool]) -> bool:
        """All transitive dependencies final (µTask's parentDepsAreFinal), iterative and memoised."""
        cached = memo.get(st.name)
        if cached is not None:
            return cached
        # Depth-first without recursion: foreach sequences chain thousands of children.
        stack: list[tuple[Step, int]] = [(st, 0)]
        on_path: set[str] = {st.name}
        while stack:
            node, idx = stack[-1]
            deps = node.parsed_dependencies
            if idx >= len(deps):
                stack.pop()
                on_path.discard(node.name)
                memo.setdefault(node.name, True)
                continue
            stack[-1] = (node, idx + 1)
            dep = self.steps.get(deps[idx][0])
            if dep is None:
                continue
            ok = dep.is_final() and memo.get(dep.name, True)
            if not ok:
                for n, _ in stack:
                    memo[n.name] = False
                return False
            if dep.name not in memo and dep.name not in on_path:
                on_path.add(dep.name)
                stack.append((dep, 0))
        return memo.get(st.name, True)

    def is_eligible(self, st: Step, memo: dict[str, bool]) -> bool:
        is_parent_with_children = bool(st.foreach) and bool(st.children_steps_map)
        if is_parent_with_children and st.state == states.EXPANDED and self.pending_children.get(st.name, 0) > 0:
            return False  # some child is not final: its `:ANY` dependency cannot hold
        steps = self.steps
        for dep_name, dep_states in st.parsed_dependencies:
            dep = steps.get(dep_name)
            if dep is None:
                return False
            if dep_states[0] == states.ANY and dep.is_final() and self.ancestors_final(dep, memo):
                continue
            if dep.state in dep_states:
                continue
            # A retried foreach parent ignores its previous children unless one is still running.
            if (
                is_parent_with_children
                and st.state != states.EXPANDED
                and dep_name in st.children_steps_map
                and dep.state != states.RUNNING
            ):
                continue
            return False
        return True

    def eligible(self, candidates: Iterable[str], executed: set[str]) -> list[Step]:
        memo: dict[str, bool] = {}
        found: dict[str, Step] = {}
        loops: list[Step] = []
        steps = self.steps
        for name in candidates:
            st = steps.get(name)
            if st is None or name in found or name in executed or st.state not in states.RUNNABLE_STATES:
                continue
            if self.is_eligible(st, memo):
                found[name] = st
                if st.foreach:
                    loops.append(st)
        # An eligible foreach parent discards the children of a previous expansion.
        for loop in loops:
            for child in loop.children_steps or ():
                found.pop(child, None)
        return list(found.values())

    # -- pruning (§5.3) -------------------------------------------------------------------------
    def prune(self, modified: dict[str, None]) -> None:
        """Propagate PRUNE from final modified steps to their non-ANY dependents, recursively."""
        work = list(modified)
        while work:
            recursive: list[str] = []
            for name in work:
                st = self.steps.get(name)
                if st is None or not st.is_final():
                    continue  # errors never prune
                dependents = self.prune_dependents.get(name)
                if not dependents:
                    continue
                if st.state == states.PRUNE:
                    for child in list(dependents):
                        self.set_state(child, states.PRUNE)
                        if child not in modified:
                            modified[child] = None
                        recursive.append(child)
                else:
                    for child in list(dependents):
                        for dep_name, dep_states in self.steps[child].parsed_dependencies:
                            if dep_name != name:
                                continue
                            if st.state not in dep_states:
                                self.set_state(child, states.PRUNE)
                                if child not in modified:
                                    modified[child] = None
                                recursive.append(child)
                            break
            work = recursive

    # -- utilities ------------------------------------------------------------------------------
    def take_changes(self) -> dict[str, Step | None]:
        changes: dict[str, Step | None] = {name: self.steps.get(name) for name in self.dirty}
        for name in self.deleted:
            changes[name] = None
        self.dirty = {}
        self.deleted = {}
        return changes

    def steps_done(self) -> int:
        return sum(1 for st in self.steps.values() if st.is_final() and not st.is_child())


def dependency_names(deps: Iterable[str]) -> list[str]:
    return [dependency_parts(d)[0] for d in deps]
