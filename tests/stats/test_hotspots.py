"""Getis–Ord Gi*: planted clusters on a square lattice and an independent implementation of the formula."""

from __future__ import annotations

import json

import numpy as np
import pytest
from libpysal.weights import W
from scipy.stats import norm
from shapely.geometry import Polygon, box
from statsmodels.stats.multitest import multipletests

from crimeplan.stats.hotspots import getis_ord_gi_star

SIDE = 7
CLUSTER_ROWS = CLUSTER_COLS = (1, 2, 3)


def lattice(side: int = SIDE) -> list[Polygon]:
    """Unit squares, row by row: cell (row, col) is index row * side + col."""
    return [box(col, row, col + 1, row + 1) for row in range(side) for col in range(side)]


def queen_adjacency(geometries: list[Polygon]) -> np.ndarray:
    """Queen contiguity computed with shapely alone: areas that share an edge or a corner."""
    n = len(geometries)
    adjacency = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if geometries[i].touches(geometries[j]):
                adjacency[i, j] = adjacency[j, i] = 1.0
    return adjacency


def gi_star_z(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ord & Getis (1995) Gi* z-score, written out from the paper with numpy."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = x.mean()
    s = np.sqrt((x**2).mean() - mean**2)
    w_sum = weights.sum(axis=1)
    w_squares = (weights**2).sum(axis=1)
    return (weights @ x - mean * w_sum) / (s * np.sqrt((n * w_squares - w_sum**2) / (n - 1)))


def planted_values(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.poisson(10, SIDE * SIDE).astype(float)
    for row in CLUSTER_ROWS:
        for col in CLUSTER_COLS:
            values[row * SIDE + col] += 25
    return values


def chebyshev_distance_to_cluster(index: int) -> int:
    row, col = divmod(index, SIDE)
    return max(
        max(0, CLUSTER_ROWS[0] - row, row - CLUSTER_ROWS[-1]),
        max(0, CLUSTER_COLS[0] - col, col - CLUSTER_COLS[-1]),
    )


def test_planted_cluster_gives_hot_spots_there_and_nothing_elsewhere():
    values = planted_values()
    result = getis_ord_gi_star(values, lattice())
    hot = [a.index for a in result.areas if a.classification == "hot spot"]
    centre = 2 * SIDE + 2
    assert centre in hot
    assert len(hot) >= 3
    assert all(chebyshev_distance_to_cluster(i) == 0 for i in hot)
    assert result.n_cold == 0
    assert result.n_hot == len(hot)
    far = [a for a in result.areas if chebyshev_distance_to_cluster(a.index) >= 2]
    assert all(a.classification == "not significant" for a in far)


def test_planted_cold_cluster_gives_cold_spots():
    rng = np.random.default_rng(1)
    values = rng.poisson(40, SIDE * SIDE).astype(float)
    low_block = [r * SIDE + c for r in (4, 5, 6) for c in (4, 5, 6)]
    values[low_block] = rng.poisson(5, 9)
    result = getis_ord_gi_star(values, lattice())
    cold = [a.index for a in result.areas if a.classification == "cold spot"]
    assert 5 * SIDE + 5 in cold
    assert set(cold) <= set(low_block)
    assert result.n_hot == 0


def test_z_scores_equal_an_independent_implementation():
    geometries = lattice()
    values = planted_values(seed=3)
    binary = queen_adjacency(geometries) + np.eye(len(geometries))  # Gi*: the area itself counts
    expected = gi_star_z(values, binary)
    result = getis_ord_gi_star(values, geometries, permutations=0)
    assert result.z_scores == pytest.approx(expected.tolist(), rel=1e-10)
    # Row-standardising the weights does not change Gi*'s z-score.
    row_standardised = binary / binary.sum(axis=1, keepdims=True)
    assert gi_star_z(values, row_standardised) == pytest.approx(expected, rel=1e-10)
    # p-values are two-sided normal.
    assert [a.p_norm for a in result.areas] == pytest.approx((2 * norm.sf(np.abs(expected))).tolist())


def test_irregular_polygons_match_the_independent_implementation():
    # Triangles and a pentagon sharing edges and a single corner.
    geometries = [
        Polygon([(0, 0), (2, 0), (1, 1)]),
        Polygon([(2, 0), (4, 0), (3, 1)]),
        Polygon([(0, 0), (1, 1), (0, 2)]),
        Polygon([(1, 1), (2, 0), (3, 1), (2, 2)]),
        Polygon([(4, 0), (5, 1), (4, 2), (3, 1)]),
        Polygon([(0, 2), (1, 1), (2, 2), (1, 3)]),
        Polygon([(2, 2), (3, 1), (4, 2), (3, 3)]),
        Polygon([(5, 1), (6, 0), (7, 1), (6, 2)]),  # touches area 4 at one corner only
    ]
    values = np.array([3.0, 9.0, 4.0, 12.0, 15.0, 2.0, 11.0, 7.0])
    binary = queen_adjacency(geometries) + np.eye(len(geometries))
    assert binary[4, 7] == 1  # a corner is enough for queen contiguity
    result = getis_ord_gi_star(values, geometries, permutations=0)
    assert result.z_scores == pytest.approx(gi_star_z(values, binary).tolist(), rel=1e-10)
    assert [a.neighbours for a in result.areas] == (binary.sum(axis=1) - 1).astype(int).tolist()


def test_classification_is_benjamini_hochberg_on_the_normal_p_values():
    values = planted_values(seed=5)
    result = getis_ord_gi_star(values, lattice(), q=0.1)
    p = [a.p_norm for a in result.areas]
    rejected, adjusted, _, _ = multipletests(p, alpha=0.1, method="fdr_bh")
    assert [a.q_value for a in result.areas] == pytest.approx(adjusted.tolist())
    flagged = [a.classification != "not significant" for a in result.areas]
    assert flagged == rejected.tolist()
    # Without the FDR step more areas would pass p < 0.1 on their own.
    assert sum(pv < 0.1 for pv in p) > sum(flagged)


def test_weights_object_gives_the_same_result_as_geometries():
    geometries = lattice()
    values = planted_values()
    adjacency = queen_adjacency(geometries)
    neighbours = {f"E{i:02d}": [f"E{j:02d}" for j in np.nonzero(adjacency[i])[0]] for i in range(len(values))}
    weights = W(neighbours, id_order=sorted(neighbours), silence_warnings=True)
    weights.transform = "R"  # row-standardised, as usually supplied
    from_weights = getis_ord_gi_star(values, weights, seed=7)
    from_geometries = getis_ord_gi_star(values, geometries, seed=7)
    assert from_weights.z_scores == pytest.approx(from_geometries.z_scores)
    assert from_weights.classifications == from_geometries.classifications
    assert [a.p_sim for a in from_weights.areas] == [a.p_sim for a in from_geometries.areas]
    assert from_weights.areas[0].id == "E00"
    assert weights.transform == "R"  # the caller's weights are left alone


def test_non_binary_weights_are_refused():
    weights = W({0: [1, 2], 1: [0], 2: [0]}, {0: [1.0, 0.25], 1: [1.0], 2: [0.25]}, silence_warnings=True)
    with pytest.raises(ValueError, match="not binary"):
        getis_ord_gi_star([1.0, 2.0, 3.0], weights)


def test_permutation_p_values_are_reproducible_and_agree_with_the_normal_ones():
    values = planted_values()
    first = getis_ord_gi_star(values, lattice(), permutations=999, seed=42)
    again = getis_ord_gi_star(values, lattice(), permutations=999, seed=42)
    assert [a.p_sim for a in first.areas] == [a.p_sim for a in again.areas]
    p_sim = np.array([a.p_sim for a in first.areas])
    p_norm = np.array([a.p_norm for a in first.areas])
    assert np.all((p_sim >= 2 / 1000) & (p_sim <= 1))
    centre = 2 * SIDE + 2
    assert p_sim[centre] == pytest.approx(2 / 1000)  # nothing in 999 permutations is as extreme
    # Where the normal approximation is clearly non-significant, so is the permutation test.
    assert np.all(p_sim[p_norm > 0.5] > 0.2)


def test_permutation_decisions_and_their_resolution_note():
    values = planted_values()
    result = getis_ord_gi_star(values, lattice(), permutations=999, p_value="permutation")
    assert result.p_value_method == "permutation"
    assert [a.p_value for a in result.areas] == [a.p_sim for a in result.areas]
    assert result.n_hot >= 1
    assert "no p-value can be below 0.002" in result.note
    with pytest.raises(ValueError, match="permutations > 0"):
        getis_ord_gi_star(values, lattice(), permutations=0, p_value="permutation")


def test_global_random_state_is_left_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    getis_ord_gi_star(planted_values(), lattice(), permutations=99)
    assert np.random.random() == expected


def test_island_has_no_statistic():
    geometries = lattice(3) + [box(10, 10, 11, 11)]  # far from everything
    values = [1.0, 2.0, 3.0, 2.0, 5.0, 1.0, 4.0, 2.0, 3.0, 50.0]
    result = getis_ord_gi_star(values, geometries)
    island = result.areas[-1]
    assert island.neighbours == 0
    assert island.z is None and island.p_norm is None and island.p_sim is None and island.q_value is None
    assert island.classification == "not significant"
    assert "no neighbours" in island.note
    assert result.n_tested == 9  # the island is left out of the FDR count


def test_neighbourhood_covering_every_area_has_no_statistic():
    # The centre of a 3 x 3 lattice touches all the others: its Gi* cannot vary.
    result = getis_ord_gi_star([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], lattice(3))
    centre = result.areas[4]
    assert centre.z is None and centre.classification == "not significant"
    assert "every area" in centre.note
    assert all(a.z is not None for a in result.areas if a.index != 4)


def test_equal_values_cannot_have_hot_spots():
    result = getis_ord_gi_star([5.0] * 9, lattice(3))
    assert result.n_hot == result.n_cold == result.n_tested == 0
    assert all(a.z is None for a in result.areas)
    assert "all values are equal" in result.note


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: getis_ord_gi_star([1.0, 2.0], lattice(3)), "one geometry per value"),
        (lambda: getis_ord_gi_star([1.0] * 8 + [-1.0], lattice(3)), "must not be negative"),
        (lambda: getis_ord_gi_star([1.0] * 8 + [np.nan], lattice(3)), "finite"),
        (lambda: getis_ord_gi_star([], []), "non-empty"),
        (lambda: getis_ord_gi_star([1.0] * 9, lattice(3), q=0), "strictly between 0 and 1"),
        (lambda: getis_ord_gi_star([1.0] * 9, lattice(3), p_value="exact"), "p_value must be"),
        (lambda: getis_ord_gi_star([1.0] * 9, lattice(3), permutations=-1), "permutations"),
        (lambda: getis_ord_gi_star([1.0] * 9, lattice(3), ids=["a"]), "1 ids were given but 9"),
        (lambda: getis_ord_gi_star([1.0] * 2 + [2.0], [box(0, 0, 1, 1), None, box(1, 0, 2, 1)]), r"areas\[1\]"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ids_and_to_dict():
    ids = [f"ward-{i}" for i in range(SIDE * SIDE)]
    result = getis_ord_gi_star(planted_values(), lattice(), ids=ids, permutations=99)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["areas"][0]["id"] == "ward-0"
    assert set(data["areas"][0]) >= {"z", "p_norm", "p_sim", "q_value", "classification"}
    assert data["n_hot"] == result.n_hot
    # Undefined statistics serialise as null, not NaN.
    flat = getis_ord_gi_star([5.0] * 9, lattice(3)).to_dict()
    assert json.loads(json.dumps(flat, allow_nan=False))["areas"][0]["z"] is None


def test_geodataframe_and_libpysal_graph_are_accepted():
    import geopandas as gpd
    from libpysal.graph import Graph

    geometries = lattice()
    values = planted_values()
    frame = gpd.GeoDataFrame({"crimes": values}, geometry=geometries)
    from_frame = getis_ord_gi_star(frame["crimes"], frame, permutations=0)
    graph = Graph.build_contiguity(frame, rook=False)
    from_graph = getis_ord_gi_star(values, graph, permutations=0)
    expected = gi_star_z(values, queen_adjacency(geometries) + np.eye(len(values)))
    assert from_frame.z_scores == pytest.approx(expected.tolist(), rel=1e-10)
    assert from_graph.z_scores == pytest.approx(expected.tolist(), rel=1e-10)
