"""Graph algorithms of the workflow validator: loops, routes and state searches."""

from __future__ import annotations

from switchboard.domain.workflow.graph import Graph, components, cycle_through, search


def graph(edges: dict[str, list[str]]) -> Graph:
    return Graph(tuple(edges), {k: tuple(v) for k, v in edges.items()})


def test_components_find_only_loops_in_document_order() -> None:
    g = graph(
        {
            "a": ["b"],
            "b": ["c", "e"],
            "c": ["b"],  # b ↔ c
            "d": ["d"],  # a node leading to itself
            "e": ["f"],
            "f": ["g", "e"],  # e ↔ f, g hangs off
            "g": [],
        }
    )
    assert components(g) == [["b", "c"], ["d"], ["e", "f"]]


def test_nested_loops_form_one_component() -> None:
    g = graph({"a": ["b"], "b": ["c", "a"], "c": ["a"]})
    assert components(g) == [["a", "b", "c"]]
    assert cycle_through(g, ["a", "b", "c"]) == ["a", "b", "a"]


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    size = 20_000
    edges = {f"n{i}": [f"n{i + 1}"] for i in range(size)}
    edges[f"n{size}"] = ["n0"]
    g = graph(edges)
    (loop,) = components(g)
    assert len(loop) == size + 1
    assert len(cycle_through(g, loop)) == size + 2


def test_restricting_drops_nodes_and_their_edges() -> None:
    g = graph({"a": ["w"], "w": ["a"], "b": ["c"], "c": ["b"]})
    assert components(g.restricted(lambda node: node != "w")) == [["b", "c"]]


def test_search_records_shortest_routes_per_state() -> None:
    # a → b → d and a → c → d; passing c sets the flag.
    g = graph({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []})
    result = search(g, ["a"], False, lambda node, flag: flag or node == "c")
    states = set(result.states())
    assert states == {("a", False), ("b", False), ("c", False), ("d", False), ("d", True)}
    assert result.route(("d", True)) == ["a", "c", "d"]
    assert result.route(("d", False)) == ["a", "b", "d"]
    assert g.reachable_from(["b"]) == {"b", "d"}
