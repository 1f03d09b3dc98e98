"""Train a seqtasks problem: ``python train.py task=classify`` (Hydra overrides; see README)."""

from seqtasks.training.cli import main

if __name__ == "__main__":
    main()
