#!/usr/bin/env bash
# The wheel as a new user gets it (CI, .ci/run): build it from the repository, install it with the
# train extra into a clean virtual environment, and from a directory of the user's own, holding a
# models.py and a training.py that would shadow ours if seqtasks installed top-level `models` or
# `training`, run the README's Python examples, `seqtasks train`, `seqtasks list` and the
# leaderboard's quick profile.
#   tests/wheel_smoke.sh [WORKDIR]      (default: a new temporary directory, removed at the end)
# TORCH picks the torch build installed first (default torch==2.13.0, the CPU wheel here).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TORCH="${TORCH:-torch==2.13.0}"
if [ $# -gt 0 ]; then WORK="$1"; mkdir -p "$WORK"; else
    WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "build the wheel"
"$PYTHON" -m pip wheel --no-deps -q "$ROOT" -w "$WORK/dist"
WHEEL="$(ls "$WORK"/dist/seqtasks-*.whl)"
"$PYTHON" -c 'import sys, zipfile
print("\n".join(sorted({n.split("/")[0] for n in zipfile.ZipFile(sys.argv[1]).namelist()})))' \
    "$WHEEL" > "$WORK/tops"
echo "top-level names in the wheel: $(tr '\n' ' ' < "$WORK/tops")"
if grep -vxE 'seqtasks|seqtasks-[0-9.]+\.dist-info' "$WORK/tops"; then
    echo "error: the wheel installs a top-level name besides seqtasks (above)" >&2; exit 1
fi

step "a clean virtual environment: $TORCH, then the wheel with the train extra"
"$PYTHON" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
# shellcheck disable=SC2086  # TORCH may carry pip options, e.g. --index-url URL
"$PY" -m pip install -q $TORCH
"$PY" -m pip install -q "$WHEEL[train]"

step "the user's directory: their own models.py and training.py"
USER_DIR="$WORK/user project"  # a space in the path, as users' paths have
mkdir -p "$USER_DIR"
for name in models training; do
    printf 'raise ImportError("the user'"'"'s own %s.py was imported: it shadows seqtasks")\n' \
        "$name" > "$USER_DIR/$name.py"
done
cd "$USER_DIR"
"$PY" -c "import seqtasks.training.run, seqtasks.models, seqtasks.benchmarks.suite; print('imports: ok')"

step "the README's Python examples"
"$PY" - "$ROOT/README.md" <<'EOF'
import re
import sys

readme = open(sys.argv[1]).read()
examples = {  # each runs in a namespace of its own, from the user's directory
    "plain PyTorch loop": [readme.split("<!-- snippet: plain-pytorch")[1]],
    "your own network": [readme.split("### Your own network")[1].split("\n## ")[0]],
    "public Python API": [readme.split("## Public Python API")[1].split("\n## ")[0]],
}
for name, (section,) in examples.items():
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    if name == "plain PyTorch loop":
        blocks = blocks[:1]
    assert blocks, f"no Python example under {name!r}"
    namespace = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, f"README.md ({name})", "exec"), namespace)
    print(f"README example ({name}): ran {len(blocks)} block(s)")
EOF

step "seqtasks list and seqtasks train"
BIN="$WORK/venv/bin"
"$BIN/seqtasks" list echo models > list.txt
grep -q "lag=None (means 5)" list.txt && grep -q "^lstm: " list.txt
OMP_NUM_THREADS=1 "$BIN/seqtasks" train task=echo task.lag=1 trainer.max_steps=30 \
    data.train_samples=2560 trainer.enable_progress_bar=false hydra.run.dir=run
test -s run/summary.json && test -s run/cli.log && test -f run/checkpoints/best.ckpt
echo "seqtasks train: ok"

step "time to solve: a train command in a subprocess, from the installed wheel"
OMP_NUM_THREADS=1 "$PY" -m seqtasks.benchmarks.time_to_solve --tasks ramp --out tts.md
grep -q "^| ramp | many_to_one | ManyToOneLSTM | yes |" tts.md
echo "time_to_solve: ok"

step "the leaderboard's quick profile"
OMP_NUM_THREADS=1 "$BIN/seqtasks-leaderboard" --quick --out board
test -s board/leaderboard.md && test -s board/leaderboard.json
echo "seqtasks-leaderboard --quick: ok"

step "every step passed"
