"""A WordPiece tokenizer trained on the corpus' own reports, wrapped for transformers."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers.implementations import BertWordPieceTokenizer
from transformers import BertTokenizerFast, PreTrainedTokenizerBase


def train_wordpiece(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerBase:
    """Lower-cased BERT-style WordPiece, so radiology words stay whole instead of splitting."""
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=1, show_progress=False)
    return BertTokenizerFast(tokenizer_object=trainer._tokenizer)
