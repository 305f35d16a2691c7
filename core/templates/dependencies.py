"""Step dependencies (§5.3): `step`, `step:STATE`, `step:S1,S2`, `step:ANY`, and transitive chains."""

from __future__ import annotations

from utask.core.templates.models import Step


def dependency_parts(dep: str) -> tuple[str, list[str]]:
    """`step` → (step, [DONE]); `step:S1,S2` → (step, [S1, S2])."""
    name, sep, states = dep.partition(":")
    if not sep:
        return name, ["DONE"]
    return name, states.split(",")


def dependencies_chain(steps: dict[str, Step], dependencies: list[str] | None) -> list[str]:
    """Every step reached through `dependencies`, transitively, in discovery order (µTask's order;
    a missing step is kept in the chain but not followed)."""
    chain: list[str] = []
    seen: set[str] = set()
    for dep in dependencies or []:
        name, _ = dependency_parts(dep)
        if name not in seen:
            seen.add(name)
            chain.append(name)
    i = 0
    while i < len(chain):
        st = steps.get(chain[i])
        if st is not None:
            for dep in st.dependencies or []:
                name, _ = dependency_parts(dep)
                if name not in seen:
                    seen.add(name)
                    chain.append(name)
        i += 1
    return chain


def can_impact(steps: dict[str, Step], source: str, dest: str) -> bool:
    """A condition of `source` may set `dest`: the same step, or one in either's dependency chain."""
    if source == dest:
        return True
    return dest in dependencies_chain(steps, steps[source].dependencies) or source in dependencies_chain(
        steps, steps[dest].dependencies
    )
