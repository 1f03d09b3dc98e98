"""``python train.py task=NAME ...``: a thin Hydra wrapper around :func:`training.run.train`."""

from __future__ import annotations

import shutil
import sys

import hydra
from omegaconf import DictConfig

from training.run import run_directory, train

HYDRA_ONLY = {".hydra", "train.log", "cli.log", "config.yaml"}


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        train(cfg)
    except (ValueError, TypeError, FloatingPointError) as error:
        run_dir = run_directory(cfg)
        if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= HYDRA_ONLY:
            shutil.rmtree(run_dir)  # nothing was trained: leave no run directory behind
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
