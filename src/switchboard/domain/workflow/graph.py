"""Graph algorithms behind the path rules of 04 §2 (V4–V6, V9, V12, V15).

The rules speak of "every path from start" and "every cycle". A workflow has
at most 200 nodes, so the checks can be exact instead of approximate:

* Path rules become a breadth-first search over *states*: a node together
  with what has already happened on the way to it (accepted? queued? queued
  by `queue_task`?). A node violates a rule if some state that reaches it
  does; breadth-first order makes the recorded route to it a shortest one,
  which the message shows as evidence.
* Cycle rules use strongly connected components (Tarjan's algorithm, written
  iteratively so a long chain cannot exhaust Python's recursion limit).

Everything is ordered by the document (node order, then exit order), so the
same document always yields the same issues and the same routes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Graph", "Search", "components", "cycle_through", "search"]

S = TypeVar("S", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Graph:
    """Node ids in document order and, per node, its successors in exit order."""

    order: tuple[str, ...]
    successors: Mapping[str, tuple[str, ...]]

    def restricted(self, keep: Callable[[str], bool]) -> Graph:
        """The subgraph induced by the nodes `keep` accepts."""
        order = tuple(n for n in self.order if keep(n))
        kept = set(order)
        return Graph(
            order, {n: tuple(t for t in self.successors.get(n, ()) if t in kept) for n in order}
        )

    def reachable_from(self, roots: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        todo = [r for r in roots if r in self.successors]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(self.successors.get(node, ()))
        return seen


@dataclass(frozen=True, slots=True)
class Search(Generic[S]):
    """Result of a state search: the parent of every state reached (roots map to None)."""

    parents: Mapping[tuple[str, S], tuple[str, S] | None]

    def route(self, state: tuple[str, S]) -> list[str]:
        """Node ids from a root to `state`, both included."""
        route: list[str] = []
        current: tuple[str, S] | None = state
        while current is not None:
            route.append(current[0])
            current = self.parents[current]
        route.reverse()
        return route

    def states(self) -> Iterable[tuple[str, S]]:
        return self.parents.keys()


def search(
    graph: Graph, roots: Sequence[str], initial: S, step: Callable[[str, S], S]
) -> Search[S]:
    """Breadth-first search over (node, state); `step` gives the state after a node ran."""
    parents: dict[tuple[str, S], tuple[str, S] | None] = {}
    queue: deque[tuple[str, S]] = deque()
    for root in roots:
        if root in graph.successors and (root, initial) not in parents:
            parents[(root, initial)] = None
            queue.append((root, initial))
    while queue:
        node, state = queue.popleft()
        after = step(node, state)
        for target in graph.successors.get(node, ()):
            key = (target, after)
            if key not in parents:
                parents[key] = (node, state)
                queue.append(key)
    return Search(parents)


def components(graph: Graph) -> list[list[str]]:
    """Strongly connected components that contain a cycle, in document order.

    A component counts when it has two or more nodes or a node that leads to
    itself. Each component lists its nodes in document order; components are
    ordered by their first node.
    """
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph.order:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.successors.get(node, ())
            if child < len(successors):
                work.append((node, child + 1))
                target = successors[child]
                if target not in index_of:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index_of[target])
                continue
            if low[node] == index_of[node]:
                members: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    members.append(top)
                    if top == node:
                        break
                if len(members) > 1 or node in graph.successors.get(node, ()):
                    found.append(members)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    position = {n: i for i, n in enumerate(graph.order)}
    ordered = [sorted(c, key=position.__getitem__) for c in found]
    return sorted(ordered, key=lambda c: position[c[0]])


def cycle_through(graph: Graph, members: Sequence[str]) -> list[str]:
    """A shortest cycle inside one component, from its first node back to it."""
    inside = set(members)
    first = members[0]
    parents: dict[str, str | None] = {first: None}
    queue: deque[str] = deque([first])
    while queue:
        node = queue.popleft()
        for target in graph.successors.get(node, ()):
            if target == first:
                route = [node]
                back = parents[node]
                while back is not None:
                    route.append(back)
                    back = parents[back]
                route.reverse()
                return [*route, first]
            if target in inside and target not in parents:
                parents[target] = node
                queue.append(target)
    return [first, first]  # unreachable for a real component; keeps the type honest
