"""Character vocabulary: a sentencepiece character model, trained on the train split and saved
inside every checkpoint (`vocab.model`). Poems have a fixed shape, so there is no BOS/EOS and
no padding inside a poem; ids 0 and 1 are `<pad>` (unused by poems) and `<unk>`.
"""

import io
from collections.abc import Iterable
from functools import cached_property

import sentencepiece as spm

from .corpus import standard_forms

FILENAME = "vocab.model"
PAD_ID, UNK_ID = 0, 1


class Vocab:
    """Char <-> id mapping backed by a sentencepiece model (kept as bytes for checkpoints)."""

    def __init__(self, model_bytes: bytes):
        self.model_bytes = model_bytes
        self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        self.itos = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]
        self.stoi = {piece: i for i, piece in enumerate(self.itos) if i > UNK_ID}

    @classmethod
    def train(cls, texts: Iterable[str], coverage: float = 0.9995, max_size: int = 8000) -> "Vocab":
        """Train a character model on poem texts (punctuation is ignored by the caller).

        Args:
            texts: one string of characters per poem.
            coverage: share of character occurrences the vocabulary covers; the rarest rest
                become `<unk>` (sentencepiece's `character_coverage`).
            max_size: upper bound on the vocabulary size.
        """
        texts = list(texts)
        n_chars = len(set("".join(texts)))
        out = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=out,
            model_type="char",
            vocab_size=min(max_size, n_chars + 2),
            hard_vocab_limit=False,
            character_coverage=coverage,
            normalization_rule_name="identity",
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=-1,
            eos_id=-1,
            minloglevel=2,
            num_threads=1,
        )
        return cls(out.getvalue())

    @cached_property
    def log_freq(self) -> list[float]:
        """Per id, the log of the character's share of the train split's characters (a
        sentencepiece character model's piece scores are exactly these); 0 for `<pad>` and
        `<unk>`."""
        return [self.sp.get_score(i) for i in range(len(self))]

    @cached_property
    def variant_ids(self) -> list[int]:
        """The ids of the variant characters whose standard form (see `corpus.standard_forms`)
        the vocabulary holds too (疎 beside 疏): decoding never draws them."""
        return [
            i
            for i, char in enumerate(self.itos)
            if i > UNK_ID and standard_forms(char) != char and standard_forms(char) in self.stoi
        ]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, char: str) -> bool:
        return char in self.stoi

    def encode(self, chars: str) -> list[int]:
        """One id per character; characters outside the vocabulary map to `<unk>`."""
        return [self.stoi.get(c, UNK_ID) for c in chars]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.itos[i] if i > UNK_ID else "□" for i in ids)
