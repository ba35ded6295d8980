"""Two-tower GloVe RNN retriever: config, tokenizer and model (shipped with checkpoints).

The training-side modules (``losses``, ``metrics``, ``collator``, ``trainer``) are imported
from their own files, so that importing this package stays light.
"""

from transformers import AutoConfig, AutoModel, AutoTokenizer

from .configuration_two_tower import TwoTowerConfig
from .modeling_two_tower import TwoTowerModel, TwoTowerOutput
from .tokenization_two_tower import TwoTowerTokenizerFast

# In-process registration: checkpoints load through the Auto classes without remote code here.
AutoConfig.register(TwoTowerConfig.model_type, TwoTowerConfig, exist_ok=True)
AutoModel.register(TwoTowerConfig, TwoTowerModel, exist_ok=True)
AutoTokenizer.register(TwoTowerConfig, fast_tokenizer_class=TwoTowerTokenizerFast, exist_ok=True)

__all__ = ["TwoTowerConfig", "TwoTowerModel", "TwoTowerOutput", "TwoTowerTokenizerFast"]
