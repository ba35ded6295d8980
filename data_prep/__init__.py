"""Data preparation: MS MARCO -> canonical parquet tables; GloVe -> vocabulary + vectors.

Imports run one way: ``scripts`` -> ``data_prep`` -> ``modeling``.
"""

import os
from pathlib import Path

# The real MS MARCO subsets: $MSMARCO_DIR, else ../shared/data/msmarco beside a clone.
MSMARCO_DIR = Path(
    os.environ.get("MSMARCO_DIR", Path(__file__).resolve().parents[2] / "shared/data/msmarco")
)
