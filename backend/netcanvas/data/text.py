"""Text columns to token ids with Hugging Face ``tokenizers``: a word-level or BPE vocabulary trained on the
training split only, lower-cased, padded with id 0 (``[PAD]``) and truncated to a fixed length; id 1 is
``[UNK]`` (a word the training split never had)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

SPECIAL = ["[PAD]", "[UNK]"]


def train_tokenizer(texts: Sequence[str], kind: str, vocab_size: int, lowercase: bool = True) -> Tokenizer:
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer: trainers.Trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                                        show_progress=False)
    else:
        tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, show_progress=False)
    steps = [normalizers.NFKC(), normalizers.Lowercase()] if lowercase else [normalizers.NFKC()]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(list(texts), trainer)
    return tok


def token_lengths(tok: Tokenizer, texts: Sequence[str]) -> np.ndarray:
    return np.array([len(e.ids) for e in tok.encode_batch(list(texts))], dtype=np.int64)


def default_length(lengths: np.ndarray, cap: int = 256) -> int:
    """The 95th percentile of the training texts' token counts (at least 1, at most ``cap``)."""
    return int(min(cap, max(1, np.ceil(np.percentile(lengths, 95)) if lengths.size else 1)))


def encode(tok: Tokenizer, texts: Sequence[str], length: int) -> np.ndarray:
    """int64 [N, length] token ids, padded with 0 and truncated."""
    out = np.zeros((len(texts), length), dtype=np.int64)
    for i, e in enumerate(tok.encode_batch(list(texts))):
        ids = e.ids[:length]
        out[i, :len(ids)] = ids
    return out


def tokenizer_from_json(text: str) -> Tokenizer:
    return Tokenizer.from_str(text)
