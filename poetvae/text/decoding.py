"""Decoding settings, in one frozen dataclass with their defaults and ranges.

`Decoding()` is what `poetvae generate`, the Python API (`generate.generate`,
`compose.write`), `poetvae eval`'s prior samples and the studio decode with unless told
otherwise. The defaults were chosen in README.md (*The bundled models*) from
scripts/bench_decoding.py. No torch here: the CLI reads the defaults for `--help`.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .forms import FORMS
from .prosody import DEFAULT_RHYME_BOOK, RHYME_BOOKS

MAX_TEMPERATURE = 100
# the temperature of a model whose checkpoint names none (config.json's "decoding")
DEFAULT_TEMPERATURE = 0.8
# one per character of the longest form at most (56 for a 七言 律诗)
MAX_PASSES = max(f.shape.seq_len for f in FORMS.values())
MAX_REFINE = 10  # latent refinement rounds: each costs a decoding pass and an encoding
MASK_PREDICT_PASSES = 4  # decoding passes of a mask-predict model by default
MAX_RARITY = 4  # f^-4 lifts a character 100 times rarer than another 10^8 times
MAX_PRESENCE = 10  # e^-10 per copy: a character the poem holds is all but barred
# the settings a checkpoint may name for its model (config.json's "decoding", written by
# scripts/export_model.py), with what a model that names none decodes with (see `for_model`)
NAMED = {"temperature": DEFAULT_TEMPERATURE, "presence": 0.0}
PRECISIONS = ("auto", "bf16", "fp32")
# below this, logits / T overflows float32 (inf - inf = nan in the softmax) on the way to what
# is argmax anyway
MIN_TEMPERATURE = 1e-6


@dataclass(frozen=True)
class Decoding:
    """How latents become characters.

    temperature: 0 = argmax; otherwise the softmax temperature (one below MIN_TEMPERATURE is
        stored as 0). None = the model's own (see `for_model`): a checkpoint may name the
        temperature its poems read best at, else DEFAULT_TEMPERATURE.
    top_p: sample only from the smallest set of characters holding this much probability.
    no_repeat: never repeat a character within a line, nor end two lines on one (relaxed only
        where a constraint leaves nothing else).
    rhyme: the ends of lines 2, 4, ... share a rhyme group (strict tones always rhyme).
    rhyme_book: whose rhyme groups: "pingshui" (平水韵) or "xinyun" (中华新韵), see
        `prosody.rhyme_groups`.
    passes: decoding passes of a mask-predict model; None = `passes_for` the model's decoder.
    refine: latent refinement rounds before the final decoding, z <- mu(argmax decode(z))
        (see `generate.refine_latents`).
    rarity: how much sampling favours characters that are rare in the training text: each
        position draws a character with probability proportional to p^(1/T) f^-rarity, where p
        is the model's probability and f the character's share of the train split's characters
        (the anti-LM weighting of Li et al. 2016, with a unigram LM). A mask-predict pass
        re-masks the characters least likely under that law, so a rare character that fits
        stays. 0 = the tempered law alone; argmax decoding (temperature 0) ignores it.
    presence: how much a mask-predict model's re-masking passes shun characters that the rest
        of the poem already holds: a position's law is multiplied by exp(-presence n), n being
        how often the other positions hold the character plus how many of the poem's
        two-character phrases it would make again with its neighbours, and a character the
        poem repeats counts as that much less confident when the pass picks what to re-mask.
        0 = off; the first pass (every position at once) and argmax decoding ignore it.
        None = the model's own (see `for_model`), else 0: real eight-line poems repeat
        characters across lines rarely, quatrains more rarely still.
    precision: what the model computes in while decoding: "bf16" (matrix products and
        convolutions in bfloat16 under autocast: on hardware that multiplies it natively,
        several times faster), "fp32", or "auto": bf16 where the device multiplies it natively
        (`core.device.bf16_native`), else fp32. Bounds and likelihoods (`eval`, reranking) are
        always fp32.

    Raises:
        ValueError: a setting out of its range (nan and inf included).
    """

    temperature: float | None = None
    top_p: float = 0.95
    no_repeat: bool = True
    rhyme: bool = True
    rhyme_book: str = DEFAULT_RHYME_BOOK
    passes: int | None = None
    refine: int = 1
    rarity: float = 0.25
    presence: float | None = None
    precision: str = "auto"

    def __post_init__(self):
        t = self.temperature
        if t is not None and not (math.isfinite(t) and 0 <= t <= MAX_TEMPERATURE):
            raise ValueError(
                f"temperature must be a finite number in [0, {MAX_TEMPERATURE}], got {t}"
            )
        if not 0 < self.top_p <= 1:  # also refuses nan
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}"
            )
        if self.rhyme_book not in RHYME_BOOKS:
            books = ", ".join(RHYME_BOOKS)
            raise ValueError(f"unknown rhyme book {self.rhyme_book!r}: choose one of {books}")
        if self.passes is not None and not 1 <= self.passes <= MAX_PASSES:
            raise ValueError(f"passes must be in [1, {MAX_PASSES}], got {self.passes}")
        if not 0 <= self.refine <= MAX_REFINE:
            raise ValueError(f"refine must be in [0, {MAX_REFINE}], got {self.refine}")
        if not (math.isfinite(self.rarity) and 0 <= self.rarity <= MAX_RARITY):
            raise ValueError(f"rarity must be in [0, {MAX_RARITY}], got {self.rarity}")
        p = self.presence
        if p is not None and not (math.isfinite(p) and 0 <= p <= MAX_PRESENCE):
            raise ValueError(f"presence must be in [0, {MAX_PRESENCE}], got {self.presence}")
        if t is not None and t < MIN_TEMPERATURE:
            object.__setattr__(self, "temperature", 0.0)  # argmax, without dividing by ~0

    def for_model(self, named: Mapping[str, float] | None) -> "Decoding":
        """This decoding with each setting of NAMED that is None filled in: the model's own
        (`PoetVAE.decoding`, what its checkpoint names), else NAMED's default."""
        named = named or {}
        fill = {k: named.get(k, v) for k, v in NAMED.items() if getattr(self, k) is None}
        return replace(self, **fill) if fill else self

    def passes_for(self, decoder: str) -> int:
        """The passes to decode with for a model's `cfg.decoder`: `passes`, or by default
        MASK_PREDICT_PASSES for a mask-predict decoder and 1 for the others."""
        if self.passes is not None:
            return self.passes
        return MASK_PREDICT_PASSES if decoder == "mask-predict" else 1
