"""The Hub model card of a checkpoint: metadata and text from its config, training and evaluation.

`build_model_card` fills the top-level ``model_card.md`` Jinja template through
``huggingface_hub.ModelCard.from_template``. The YAML metadata (library, tags, datasets, license and
a ``model-index`` of the measured results) is a `ModelCardData`; the results table comes from the
evaluation JSON of ``scripts/evaluate.py`` (``{system: {"task/metric": value}}``), with every other
system of that JSON as a baseline row. The card holds no date and no absolute path, so the same
inputs give the same bytes and pushing them again commits nothing.
Deliberately left out: ``training_args.bin`` (a pickle); JSON training summaries are read instead.
This module is not shipped to the Hub and the three model files never import it.
"""

from __future__ import annotations

import json
import struct
from math import prod
from pathlib import Path, PurePath
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "model_card.md"
TRAINING_ARGS_FILES = ("train_summary.json", "training_args.json")  # the first found is read
TAGS = ["sentence-similarity", "feature-extraction", "sentence-transformers", "two-tower"]
TAGS += ["dual-encoder", "glove", "rnn"]
MS_MARCO_DEV = {"dataset_type": "microsoft/ms_marco", "dataset_split": "validation"}
# What the task keys of scripts/evaluate.py measure: model-index fields and a line of text.
TASKS = {
    "dev600-rerank": {
        "task_type": "text-ranking",
        "task_name": "Passage reranking",
        "dataset_name": "MS MARCO dev.small, 600 queries, BM25 top-20 candidates",
        **MS_MARCO_DEV,
        "description": "MS MARCO dev.small queries (the 540 of 600 with a relevant passage), "
        "each reranking its own 20 BM25 candidates.",
    },
    "dev600-retrieve": {
        "task_type": "text-retrieval",
        "task_name": "Passage retrieval",
        "dataset_name": "MS MARCO dev.small, 600 queries, 38,877-passage corpus",
        **MS_MARCO_DEV,
        "description": "the same queries retrieving from a 38,877-passage corpus (mostly BM25 "
        "candidate pools, which favours BM25).",
    },
    "dl19-pool": {
        "task_type": "text-ranking",
        "task_name": "Passage reranking",
        "dataset_type": "trec-dl-2019",
        "dataset_name": "TREC DL 2019 passage, 43 judged queries, 14,581-passage pool",
        "dataset_split": "test",
        "description": "the 43 judged TREC DL 2019 queries ranking a shared pool of 14,581 "
        "passages (graded NIST judgments; unjudged passages count as non-relevant).",
    },
}
# Any other task of the evaluation JSON: a BEIR-format folder (scripts/evaluate.py --beir_dir).
OTHER_TASK = {
    "description": "full-corpus retrieval over a BEIR-format collection (for `scifact-train`: "
    "BEIR SciFact's 809 train claims against 5,183 abstracts, out of MS MARCO's domain)."
}
METRIC_TYPES = {"mrr": "mrr", "ndcg": "ndcg", "r": "recall", "recall": "recall", "map": "map"}
# Training settings shown first, in this order (matched on the last part of a nested key); a
# summary of at most MAX_TRAINING_ROWS entries is shown whole, a longer one only by these keys.
TRAINING_KEYS = (
    *("train_file", "positives", "max_train_queries", "num_negatives", "glove", "prune_vocab"),
    *("loss", "margin", "temperature", "num_train_epochs", "max_steps", "learning_rate"),
    *("per_device_train_batch_size", "weight_decay", "warmup_ratio", "seed", "world_size"),
    *("epoch", "train_loss", "train_runtime", "eval_recall@1", "eval_recall@5", "eval_gap"),
)
MAX_TRAINING_ROWS = 30
SECRET_WORDS = ("token", "key", "secret", "password")


def build_model_card(
    checkpoint_dir: str | Path,
    *,
    repo_id: str | None = None,
    eval_results: str | Path | dict | None = None,
    eval_system: str | None = None,
    training_args: str | Path | dict | None = None,
    license: str = "apache-2.0",
    template_path: str | Path = TEMPLATE_PATH,
) -> ModelCard:
    """Builds the model card of a saved checkpoint.

    Args:
        checkpoint_dir: Folder with ``config.json`` (and the weights, for the parameter count).
        repo_id: Hub repo the card is for; it names the model and fills the usage snippet.
        eval_results: Evaluation JSON (path or dict) ``{system: {"task/metric": value}}``.
        eval_system: Which system of ``eval_results`` is this checkpoint; the others become
            baseline rows. Default: the system named like ``checkpoint_dir`` (as
            ``scripts/evaluate.py`` names it), or the only one.
        training_args: Training arguments or summary (path or dict, nested one level at most);
            default: ``train_summary.json`` or ``training_args.json`` in ``checkpoint_dir``.
        license: Hub license id of the weights and code.
        template_path: The Jinja template (the repository's ``model_card.md``).

    Raises:
        ValueError: ``config.json`` is missing, or the evaluation JSON is malformed or does not
            say which system this checkpoint is.
    """
    checkpoint_dir = Path(checkpoint_dir)
    if not (checkpoint_dir / "config.json").is_file():
        raise ValueError(f"{checkpoint_dir} has no config.json: save the model there first.")
    config = json.loads((checkpoint_dir / "config.json").read_text())
    model_name = (repo_id or checkpoint_dir.resolve().name).split("/")[-1]
    systems = _read_json(eval_results) if eval_results is not None else {}
    own_name = _own_system(systems, eval_system, checkpoint_dir.resolve().name)
    own = systems.get(own_name, {})
    if training_args is None:
        found = [checkpoint_dir / n for n in TRAINING_ARGS_FILES if (checkpoint_dir / n).is_file()]
        training_args = found[0] if found else {}

    card_data = ModelCardData(
        language="en",
        license=license,
        library_name="transformers",
        pipeline_tag="feature-extraction",
        tags=[*TAGS, config.get("rnn_type", "gru"), "msmarco"],
        datasets=["microsoft/ms_marco"],
        model_name=model_name,
        eval_results=[_eval_result(k, v) for k, v in own.items() if "/" in k] or None,
    )
    columns = list(dict.fromkeys(k for values in [own, *systems.values()] for k in values))
    rows = [(f"**{model_name}** (this model)", own)] if own else []
    rows += [(name, values) for name, values in systems.items() if name != own_name]
    tasks = dict.fromkeys(k.split("/")[0] for k in columns if "/" in k)
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        model_name=model_name,
        repo_id=repo_id or f"your-name/{model_name}",
        metric_columns=columns,
        results=[(name, [_cell(values.get(c)) for c in columns]) for name, values in rows],
        tasks=[(task, TASKS.get(task, OTHER_TASK)["description"]) for task in tasks],
        architecture=_architecture(config, checkpoint_dir),
        training=_training_rows(_read_json(training_args)),
    )


def _read_json(source: str | Path | dict) -> dict:
    if isinstance(source, dict):
        return source
    data = json.loads(Path(source).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{source} must hold a JSON object, not a {type(data).__name__}.")
    return data


def _own_system(systems: dict, eval_system: str | None, checkpoint_name: str) -> str | None:
    """Which system of the evaluation JSON is this checkpoint (None: no results given)."""
    for system, values in systems.items():
        if not isinstance(values, dict) or not all(
            isinstance(v, (int, float)) for v in values.values()
        ):
            raise ValueError(f"Evaluation results must be {{system: {{metric: number}}}}: {system}")
    if not systems:
        return None
    if eval_system is None:
        if checkpoint_name in systems or len(systems) == 1:
            return checkpoint_name if checkpoint_name in systems else next(iter(systems))
        raise ValueError(
            f"The evaluation JSON has the systems {sorted(systems)}: pass --eval_system "
            "(eval_system=) to say which one is this checkpoint."
        )
    if eval_system not in systems:
        raise ValueError(f"No system {eval_system!r} in the evaluation JSON: {sorted(systems)}.")
    return eval_system


def _eval_result(metric_key: str, value: float) -> EvalResult:
    """``"dev600-rerank/MRR@10"`` -> a model-index entry (task, dataset, metric ``mrr_at_10``)."""
    task, metric = metric_key.split("/", 1)
    name, _, k = metric.partition("@")
    metric_type = METRIC_TYPES.get(name.lower(), name.lower()) + (f"_at_{k}" if k else "")
    info = {key: v for key, v in TASKS.get(task, {}).items() if key != "description"}
    info = info or {"task_type": "text-retrieval", "dataset_type": task, "dataset_name": task}
    return EvalResult(metric_type=metric_type, metric_name=metric, metric_value=value, **info)


def _cell(value: float | None) -> str:
    """Scores with 3 decimals; large counts (passages per second) as whole numbers."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"


# What a pooling name alone does not say.
POOLING_NOTES = {"attention": " (a mean weighted by a learned score of each token's state)"}


def _architecture(config: dict, checkpoint_dir: Path) -> list[tuple[str, str]]:
    """Rows of the model-details table, in words, from ``config.json``."""
    directions = 2 if config.get("bidirectional", True) else 1
    layers = config.get("num_layers", 1)
    rnn = ("bidirectional " if directions == 2 else "one-directional ") + config.get(
        "rnn_type", "gru"
    ).upper()
    pooling = f"{config.get('pooling', 'mean')} over tokens"
    pooling += POOLING_NOTES.get(config.get("pooling"), "")
    if config.get("output_dim"):
        pooling += f", then a linear projection to {config['output_dim']}"
    size = config.get("output_dim") or config.get("hidden_size", 0) * directions
    normalised = config.get("normalize", True)
    buckets = config.get("lexical_buckets", 0)
    if buckets:
        output = (
            f"{size + buckets}-dimensional vectors: the pooled part ({size}"
            + (", L2-normalised" if normalised else "")
            + f"), then a {buckets}-bucket hashed bag of the text's words weighted by term"
            " weights learned from the token states (each shared word adds the product of its"
            " two weights to the dot product)"
        )
        matching = [
            note
            for key, note in (
                ("lexical_stems", "by their Snowball stem"),
                ("hash_unknown_words", "words outside GloVe included, as written"),
            )
            if config.get(key)
        ]
        if matching:
            output += "; words match " + " and ".join(matching)
    else:
        output = f"{size}-dimensional vectors"
        if normalised:
            output += ", L2-normalised (dot product = cosine similarity)"
    frozen = "frozen" if config.get("freeze_embeddings", True) else "fine-tuned"
    vocab = f"{config.get('vocab_size', 0):,} × {config.get('embedding_dim')}"
    query_len, passage_len = config.get("query_max_length"), config.get("passage_max_length")
    towers = f"2 separate {rnn} towers, {layers} layer{'s' if layers > 1 else ''}, "
    towers += f"{config.get('hidden_size')} units" + (" per direction" if directions == 2 else "")
    rows = [
        ("towers", towers),
        ("word embeddings", f"{vocab} GloVe vectors shared by both towers, {frozen}"),
        ("pooling", pooling),
        ("output", output),
        ("max length", f"queries {query_len}, passages {passage_len} tokens; the rest is cut"),
    ]
    parameters = _count_parameters(checkpoint_dir)
    if parameters is not None:
        rows.append(("parameters", f"{parameters:,} (embedding table included)"))
    return rows


def _count_parameters(checkpoint_dir: Path) -> int | None:
    """Sums tensor sizes from the safetensors headers, without loading torch or the weights."""
    files = sorted(checkpoint_dir.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with open(file, "rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        total += sum(prod(t["shape"]) for name, t in header.items() if name != "__metadata__")
    return total


def _training_rows(training: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows of the training table: known keys first, in order; secrets and local dirs never.

    Nested sections (``{"data": {...}, "train": {...}}``) are flattened to ``data.train_file``.
    Absolute paths are shortened to their file name.
    """
    flat = {}
    for key, value in training.items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, v in items:
            flat[f"{key}.{sub}" if sub else key] = v
    shown = {}
    for key, value in flat.items():
        name = key.split(".")[-1].lower()
        secret = any(word in name for word in SECRET_WORDS) or name.endswith("_dir")
        if secret or not isinstance(value, (str, int, float, bool)) or value == "":
            continue
        if isinstance(value, str) and PurePath(value).is_absolute():
            value = PurePath(value).name
        shown[key] = f"{value:.4g}" if isinstance(value, float) else str(value)
    rank = {name: i for i, name in enumerate(TRAINING_KEYS)}
    known = sorted(
        (k for k in shown if k.split(".")[-1] in rank), key=lambda k: rank[k.split(".")[-1]]
    )
    rest = [k for k in shown if k not in known] if len(shown) <= MAX_TRAINING_ROWS else []
    return [(key, shown[key]) for key in known + rest]
