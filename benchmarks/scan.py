"""The recurrent models' CPU loops side by side with the plain forms they replace.

    python -m seqtasks.benchmarks.scan [--lengths 256 1000] [--batch 32] [--rounds 5]
        [--threads 1] [--out results]

Each pair is timed in turn for ``--rounds`` rounds after one warm-up each, so both meet the same
machine load; a cell is the median. Three tables:

- ``results/scan.{json,md}``: forward and backward of Mamba's selective scan,
  :func:`~seqtasks.models.mamba_scan.scan_materialized` against
  :func:`~seqtasks.models.mamba_scan.selective_scan` (on the CPU: the fused loop), at the default
  Mamba's sizes (``E = 128`` channels, ``N = 16`` states a channel), per length;
- ``results/scan_decay.{json,md}``: the two kernels that can make one step's decay
  ``exp(delta A)`` ``(B, E, N)``: ``torch.exp``, and ``torch.exp2`` of ``delta A log2 e``, which
  the fused loop uses;
- ``results/slstm_scan.{json,md}``: forward and backward of the default xLSTM's sLSTM cell
  (width 80, 4 heads) over its input's pre-activations, the loop under autograd
  (:meth:`~seqtasks.models.xlstm_cells.SLSTMCell.loop`) against
  :class:`~seqtasks.models.slstm_scan.SLSTMScan`, per length;
- ``results/headwise.{json,md}``: forward and backward of the xLSTM's block-diagonal q, k, v
  projection (the default mLSTM block's 160 features, blocks of 4), as one dense ``(W, W)``
  product with zeros off the blocks against
  :class:`~seqtasks.models.xlstm_cells.HeadwiseLinear` (products of 16-feature groups), per
  length.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from seqtasks.benchmarks.runner import machine
from seqtasks.benchmarks.tables import in_turn, out_folder, require_positive, write_side_by_side
from seqtasks.models.mamba_scan import LOG2_E, scan_materialized, selective_scan
from seqtasks.models.slstm_scan import SLSTMScan
from seqtasks.models.xlstm_cells import HeadwiseLinear, SLSTMCell

INNER, STATES = 128, 16  # the default Mamba's E = expand x d_model and N = d_state
WIDTH, HEADS = 80, 4  # the default xLSTM's d_model and num_heads
INNER_XLSTM = 160  # its mLSTM block's inner width (up_factor 2)


def measure(length: int, batch: int, rounds: int) -> dict[str, float]:
    """Mamba's scan, forward and backward, both ways."""
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(batch, length, INNER, generator=generator)
    delta = torch.nn.functional.softplus(torch.randn(batch, length, INNER, generator=generator))
    A = -torch.arange(1, STATES + 1.0).repeat(INNER, 1)  # (E, N), as Mamba starts
    B, C = (torch.randn(batch, length, STATES, generator=generator) for _ in range(2))
    inputs = [x.requires_grad_() for x in (u, delta, A, B, C)]
    ways = {"materialized": lambda: scan_materialized(*inputs).sum().backward(),
            "fused": lambda: selective_scan(*inputs).sum().backward()}  # fmt: skip
    median = in_turn(ways, rounds)
    return {"length": length, **median, "speed-up": median["materialized"] / median["fused"]}


def measure_decay(batch: int, rounds: int) -> dict[str, float]:
    """Microseconds a call of ``exp(delta A)`` on one step's ``(B, E, N)``, both ways."""
    generator = torch.Generator().manual_seed(0)
    delta = torch.nn.functional.softplus(torch.randn(batch, INNER, 1, generator=generator))
    A = -torch.arange(1, STATES + 1.0).repeat(INNER, 1)  # (E, N)
    A_log2 = A * LOG2_E
    decay = torch.empty(batch, INNER, STATES)
    ways = {"exp": lambda: torch.mul(delta, A, out=decay).exp_(),
            "exp2": lambda: torch.mul(delta, A_log2, out=decay).exp2_()}  # fmt: skip
    median = {name: s * 1e6 for name, s in in_turn(ways, rounds, calls=200).items()}
    return {"batch": batch, **median, "speed-up": median["exp"] / median["exp2"]}


def measure_slstm(length: int, batch: int, rounds: int) -> dict[str, float]:
    """The sLSTM cell's loop over ``length`` steps, forward and backward, both ways."""
    torch.manual_seed(0)
    cell = SLSTMCell(WIDTH, HEADS)
    size = WIDTH // HEADS
    pre_x = torch.randn(length, HEADS, batch, 4 * size, requires_grad=True)  # (T, H, B, 4d)
    ways = {
        "autograd": lambda: cell.loop(pre_x).sum().backward(),
        "hand-written": lambda: SLSTMScan.apply(pre_x, cell.recurrent).sum().backward(),
    }
    median = in_turn(ways, rounds)
    return {"length": length, **median, "speed-up": median["autograd"] / median["hand-written"]}


def measure_headwise(length: int, batch: int, rounds: int) -> dict[str, float]:
    """The xLSTM's q, k, v projection over ``length`` steps, forward and backward, both ways."""
    torch.manual_seed(0)
    projection = HeadwiseLinear(INNER_XLSTM, 4)
    x = torch.randn(batch, length, INNER_XLSTM, requires_grad=True)  # (B, T, W)

    def dense() -> torch.Tensor:  # (B, T, W): one (W, W) product, zeros off the blocks
        return x @ torch.block_diag(*projection.weight) + projection.bias

    ways = {"dense": lambda: dense().sum().backward(),
            "grouped": lambda: projection(x).sum().backward()}  # fmt: skip
    median = in_turn(ways, rounds, calls=5)
    return {"length": length, **median, "speed-up": median["dense"] / median["grouped"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.scan")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1000])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "lengths", "batch", "rounds", "threads")
    torch.set_num_threads(args.threads)
    m = machine()
    command = (f"python -m seqtasks.benchmarks.scan --lengths {' '.join(map(str, args.lengths))} "
               f"--batch {args.batch} --rounds {args.rounds} --threads {args.threads}")  # fmt: skip

    def write(name: str, what: str, header: list[str], rows: list[dict], keys: list[str]) -> None:
        cells = [[f"{row[keys[0]]:,}"] + [f"{row[key]:.3f}" for key in keys[1:]]
                 + [f"{row['speed-up']:.1f}x"] for row in rows]  # fmt: skip
        write_side_by_side(args.out, name, command, what, header, cells, m, args, rows)

    rows = [measure(length, args.batch, args.rounds) for length in args.lengths]
    what = f"Mamba's selective scan, forward and backward, B={args.batch}, E={INNER}, N={STATES}"
    header = ["length", "materialized (s)", "fused (s)", "speed-up"]
    write("scan", what, header, rows, ["length", "materialized", "fused"])
    decay = [measure_decay(args.batch, args.rounds)]
    what = (f"one step's decay exp(delta A) of Mamba's fused scan, (B, E, N) = ({args.batch}, "
            f"{INNER}, {STATES}), as torch.exp and as torch.exp2")  # fmt: skip
    write("scan_decay", what, ["B", "exp (us a call)", "exp2 (us a call)", "speed-up"], decay,
          ["batch", "exp", "exp2"])  # fmt: skip
    rows = [measure_slstm(length, args.batch, args.rounds) for length in args.lengths]
    what = (f"the xLSTM's sLSTM cell (width {WIDTH}, {HEADS} heads), forward and backward, "
            f"B={args.batch}")  # fmt: skip
    header = ["length", "autograd loop (s)", "hand-written (s)", "speed-up"]
    write("slstm_scan", what, header, rows, ["length", "autograd", "hand-written"])
    rows = [measure_headwise(length, args.batch, args.rounds) for length in args.lengths]
    what = (f"the xLSTM's q, k, v projection ({INNER_XLSTM} features, blocks of 4), forward "
            f"and backward, B={args.batch}")  # fmt: skip
    header = ["length", "dense (s)", "16-feature groups (s)", "speed-up"]
    write("headwise", what, header, rows, ["length", "dense", "grouped"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
