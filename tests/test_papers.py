"""The leaderboard beside the papers: our cells come from the runs, value by value."""

from __future__ import annotations

from seqtasks.benchmarks import papers


def run(model: str, problem: str, value: int, seed: int, metric: float, stopped: str = "ended"):
    return {"model": model, "problem": problem, "value": value, "seed": seed,
            "test_metric": metric, "stopped": stopped}  # fmt: skip


def board(runs: list[dict]) -> dict:
    return {
        "models": ["lstm", "transformer"],
        "problems": [
            {"key": "associative_recall/length", "values": [64, 128, 256, 512, 1024]},
            {"key": "selective_copy", "values": [64, 128, 256, 512, 1024]},
        ],
        "runs": runs,
    }


def test_a_cell_is_the_median_over_the_seeds_run_and_errors_are_left_out() -> None:
    runs = [
        run("lstm", "selective_copy", 64, 0, 0.2),
        run("lstm", "selective_copy", 64, 1, 0.9),
        run("lstm", "selective_copy", 64, 2, 0.5),
        run("lstm", "selective_copy", 128, 0, 0.1),
        run("lstm", "selective_copy", 128, 1, None, stopped="error"),
        run("lstm", "associative_recall/length", 64, 0, 0.7),  # another problem
        run("transformer", "selective_copy", 64, 0, 1.0),
    ]
    models = ["lstm", "transformer", "mlp_window"]  # the last with no run on the problem
    grid = papers.accuracy_grid(runs, "selective_copy", models, (64, 128, 256))
    assert grid == {"lstm": ["0.500 (3)", "0.100 (1)", "-"], "transformer": ["1.000 (1)", "-", "-"],
                    "mlp_window": ["not run yet"] * 3}  # fmt: skip


def test_zoology_table_puts_the_figure_beside_ours_at_the_same_lengths() -> None:
    text = papers.zoology(board([run("transformer", "associative_recall/length", 128, 0, 0.99)]))
    lines = text.splitlines()
    assert lines[0] == "| model | length 64 | length 128 | length 256 | length 512 | length 1,024 |"
    assert "| transformer (ours) | - | 0.990 (1) | - | - | - |" in lines
    # the figure has no length 1,024: its cell is empty, the others are the figure's readings
    assert "| Hyena (Zoology, Fig. 2) | 0.51 | 0.20 | 0.05 | 0.02 | - |" in lines
    assert "8,192" in text and "random_non_queries" in text  # the settings that differ


def test_mamba_section_has_ours_then_table_1() -> None:
    text = papers.mamba(board([run("lstm", "selective_copy", 256, 0, 0.25)]))
    assert "| lstm | - | - | 0.250 (1) | - | - |" in text
    assert "| Mamba | Mamba | S6 | 99.8% |" in text and "| S4 | no gate | S4 | 18.3% |" in text
    assert "4,096" in text


def test_a_board_without_the_problem_says_so() -> None:
    empty = {"models": ["lstm"], "problems": [], "runs": []}
    assert "no `selective_copy` ladder" in papers.mamba(empty)
    assert "no `associative_recall/length` ladder" in papers.zoology(empty)
