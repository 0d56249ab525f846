"""A WordPiece tokenizer whose vocabulary comes from the corpus' own reports, wrapped for transformers.

The vocabulary is built deterministically: every character of the reports and of ASCII (and its
`##` continuation) so that any word can be spelt, then whole words by frequency, ties broken
alphabetically. The `tokenizers` WordPiece trainer breaks ties differently on every run, which made
two trainings on the same data differ; normalisation, word splitting and the WordPiece model are
still the library's.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer, BertTokenizerFast, PreTrainedTokenizerBase

from ..errors import ModelDirError
from .towers import check_tower

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BASE_ALPHABET = string.ascii_lowercase + string.digits + string.punctuation  # queries may use letters reports did not


def train_wordpiece(texts: Iterable[str], vocab_size: int, min_frequency: int = 1) -> PreTrainedTokenizerBase:
    """Lower-cased BERT-style WordPiece; radiology words stay whole, unseen words fall back to pieces."""
    normalizer = normalizers.BertNormalizer(lowercase=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    alphabet = sorted({char for word in counts for char in word} | set(BASE_ALPHABET))
    vocab = list(SPECIAL_TOKENS) + alphabet + [f"##{char}" for char in alphabet]
    known = set(vocab)
    by_frequency = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words = [word for word, n in by_frequency if n >= min_frequency and word not in known]
    vocab += words[: max(0, vocab_size - len(vocab))]

    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    return BertTokenizerFast(tokenizer_object=tokenizer)


VOCABULARY_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                    "tokenizer.model")  # one of these holds a tokenizer's vocabulary


def load_tokenizer(directory: str | Path) -> PreTrainedTokenizerBase:
    """A tokenizer saved in a local directory (radsearch's own, or a checkpoint's); never downloads. A folder
    with a tokenizer_config.json but no vocabulary would give a tokenizer of special tokens only: refused."""
    directory = Path(directory)
    if not any((directory / name).is_file() for name in VOCABULARY_FILES):
        raise ModelDirError(f"{directory} has no usable tokenizer (none of {', '.join(VOCABULARY_FILES)}); a text "
                            "tower needs the tokenizer it was trained with")
    try:
        return AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError, ImportError) as e:
        raise ModelDirError(f"{directory} has no usable tokenizer ({e}); a text tower needs the tokenizer it was "
                            "trained with") from e


def pretrained_tokenizer(directory: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a pretrained text tower, refused with the fix when the tower has none."""
    check_tower(directory, "text")
    return load_tokenizer(directory)
