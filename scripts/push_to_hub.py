"""Push a trained two-tower checkpoint to the Hugging Face Hub, with a model card of its results.

    python scripts/push_to_hub.py --checkpoint_dir checkpoints/two_tower_final \\
        --repo_id your-name/two-tower-msmarco --eval_results results/eval.json

One commit uploads the weights, config.json, the tokenizer files, the code files that
``AutoModel.from_pretrained(repo_id, trust_remote_code=True)`` runs, a README.md model card built
from model_card.md (metadata, measured results next to the baselines, usage, training, limits)
and the evaluation JSON as eval_results.json. Files that did not change are skipped, so pushing
the same checkpoint twice makes no new commit. A folder that is not a complete checkpoint is
refused before anything is sent.

The token comes from HF_TOKEN, else from HF_TOKEN=... in a .env file (--env_file), else from a
saved `hf auth login`; it is never logged. HF_ENDPOINT points the client at another Hub, such as
the local test server of tests/support/hub_server.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from pathlib import Path

from dotenv import dotenv_values
from huggingface_hub import CommitOperationAdd, HfApi

logger = logging.getLogger("push_to_hub")
# Pushed when present: tokenizer extras, the tokenizer's source (it loads without remote code),
# and the files that make the repo load as a SentenceTransformer (modules.json's code is required).
OPTIONAL_FILES = ("special_tokens_map.json", "added_tokens.json", "tokenization_two_tower.py")
OPTIONAL_FILES += ("modules.json", "config_sentence_transformers.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkpoint_dir",
        default="checkpoints/two_tower_final",
        help="Folder written by save_pretrained of the model and tokenizer, e.g. by "
        "scripts/train.py (default: %(default)s).",
    )
    parser.add_argument("--repo_id", required=True, help="Hub model repo, e.g. your-name/model.")
    parser.add_argument(
        "--private", action="store_true", help="Create the repo private (new repos only)."
    )
    parser.add_argument(
        "--revision", default="main", help="Branch to commit to; created if missing."
    )
    parser.add_argument(
        "--commit_message", default="Upload two-tower checkpoint", help="Commit title."
    )
    parser.add_argument(
        "--eval_results",
        help="Evaluation JSON of scripts/evaluate.py: its numbers go into the card and the "
        "model-index, and it is uploaded as eval_results.json.",
    )
    parser.add_argument(
        "--eval_system",
        help="Which system of --eval_results is this checkpoint (default: the one named like "
        "--checkpoint_dir, or the only one); the others are shown as baselines.",
    )
    parser.add_argument(
        "--training_args",
        help="JSON of training arguments/summary for the card (default: train_summary.json or "
        "training_args.json in --checkpoint_dir, if there).",
    )
    parser.add_argument("--license", default="apache-2.0", help="Hub license id of the repo.")
    parser.add_argument(
        "--env_file", default=".env", help="File read for HF_TOKEN when it is not set."
    )
    return parser.parse_args(argv)


def checkpoint_files(checkpoint_dir: str | Path) -> dict[str, Path]:
    """The files of a complete checkpoint, by their name in the repo.

    Complete means: config.json with an ``auto_map`` for AutoModel, the weights
    (model.safetensors, or an index and all its shards), tokenizer.json and
    tokenizer_config.json, and every code file that an ``auto_map`` or ``modules.json`` names or
    that those files import relatively (what ``trust_remote_code`` will download and run).

    Raises:
        ValueError: Naming every missing file and what it is for.
    """
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: pass the checkpoint's --checkpoint_dir.")
    required = {"config.json": "config", "tokenizer.json": "tokenizer"}
    required["tokenizer_config.json"] = "tokenizer"
    files = {name: folder / name for name in required if (folder / name).is_file()}
    missing = {name: role for name, role in required.items() if name not in files}
    files.update(_weights(folder, missing))
    code = _auto_map_modules(folder, missing) | _sentence_transformers_modules(folder)
    while code:  # the code files, and the sibling modules they import
        name = code.pop()
        if name in files or name in missing:
            continue
        if not (folder / name).is_file():
            missing[name] = "remote code for trust_remote_code"
            continue
        files[name] = folder / name
        imports = re.findall(r"^from \.(\w+) import", files[name].read_text(), re.MULTILINE)
        code |= {f"{module}.py" for module in imports}
    if missing:
        listed = ", ".join(f"{name} ({role})" for name, role in sorted(missing.items()))
        raise ValueError(
            f"{folder} is not a complete checkpoint; missing: {listed}. Save the model and the "
            "tokenizer there with save_pretrained (scripts/train.py does both), then push again."
        )
    files.update({n: folder / n for n in OPTIONAL_FILES if (folder / n).is_file()})
    return files


def _weights(folder: Path, missing: dict[str, str]) -> dict[str, Path]:
    if (folder / "model.safetensors").is_file():
        return {"model.safetensors": folder / "model.safetensors"}
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        missing["model.safetensors"] = "weights"
        return {}
    shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    for shard in shards:
        if not (folder / shard).is_file():
            missing[shard] = "weights shard"
    return {n: folder / n for n in [index.name, *shards] if (folder / n).is_file()}


def _auto_map_modules(folder: Path, missing: dict[str, str]) -> set[str]:
    """Python files named by the ``auto_map`` of config.json and tokenizer_config.json."""
    modules = set()
    for name in ("config.json", "tokenizer_config.json"):
        if not (folder / name).is_file():
            continue
        auto_map = json.loads((folder / name).read_text()).get("auto_map") or {}
        if name == "config.json" and "AutoModel" not in auto_map:
            missing["auto_map.AutoModel in config.json"] = "what trust_remote_code loads"
        for target in auto_map.values():
            for ref in target if isinstance(target, list) else [target]:
                if ref:  # "module.Class", or "repo--module.Class" for code in another repo
                    modules.add(ref.split("--")[-1].rsplit(".", 1)[0] + ".py")
    return modules


def _sentence_transformers_modules(folder: Path) -> set[str]:
    """Python files of the custom modules ``modules.json`` names (none without the file)."""
    if not (folder / "modules.json").is_file():
        return set()
    refs = [module["type"] for module in json.loads((folder / "modules.json").read_text())]
    return {
        ref.rsplit(".", 1)[0] + ".py"
        for ref in refs
        if not ref.startswith("sentence_transformers.")
    }


def read_token(env_file: str | Path) -> str | None:
    """HF_TOKEN from the environment, else from ``env_file``; None leaves the saved login."""
    if os.environ.get("HF_TOKEN"):
        logger.info("Hub token: from the HF_TOKEN environment variable.")
        return os.environ["HF_TOKEN"]
    if Path(env_file).is_file() and dotenv_values(env_file).get("HF_TOKEN"):
        logger.info("Hub token: HF_TOKEN from %s.", env_file)
        return dotenv_values(env_file)["HF_TOKEN"]
    logger.info("Hub token: none in HF_TOKEN or %s; using the saved login, if any.", env_file)
    return None


def main(argv: list[str] | None = None) -> str:
    """Runs the push; returns the commit id the revision points to afterwards."""
    # 1. Arguments and logging
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")

    # 2. Refuse an incomplete checkpoint before any network call; build the card
    try:
        files = checkpoint_files(args.checkpoint_dir)
        # Imported only now: the modeling package loads torch, which a refusal does not need.
        from modeling.hub.model_card import build_model_card

        card = build_model_card(
            args.checkpoint_dir,
            repo_id=args.repo_id,
            eval_results=args.eval_results,
            eval_system=args.eval_system,
            training_args=args.training_args,
            license=args.license,
        )
    except (ValueError, OSError) as err:
        logger.error("Nothing was pushed: %s", err)
        raise SystemExit(2) from err
    operations = [CommitOperationAdd(name, str(path)) for name, path in sorted(files.items())]
    operations.append(CommitOperationAdd("README.md", str(card).encode()))
    if args.eval_results:
        operations.append(CommitOperationAdd("eval_results.json", args.eval_results))

    # 3. Repo (and branch), then one commit; the client skips files the Hub already has
    api = HfApi(token=read_token(args.env_file))
    url = api.create_repo(args.repo_id, private=args.private, exist_ok=True)
    if args.private and not api.repo_info(args.repo_id).private:
        logger.warning("%s exists and is public: --private only applies to new repos.", url)
    if args.revision != "main":
        api.create_branch(args.repo_id, branch=args.revision, exist_ok=True)
    head = api.repo_info(args.repo_id, revision=args.revision).sha
    commit = api.create_commit(
        args.repo_id,
        operations,
        commit_message=args.commit_message,
        revision=args.revision,
    )
    if commit.oid == head:
        logger.info("%s@%s already has these files: no commit made.", url, args.revision)
    else:
        logger.info("Pushed to %s@%s (unchanged files skipped): %s", url, args.revision, commit)
    return commit.oid


if __name__ == "__main__":
    main()
