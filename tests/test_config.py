import dataclasses

import pytest

from poetvae.core.config import apply_overrides, from_dict, to_dict
from poetvae.text.model import PoetVAEConfig


def test_round_trip_and_unknown_keys_are_errors():
    cfg = PoetVAEConfig.preset("tiny", vocab_size=50)
    assert from_dict(PoetVAEConfig, to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown PoetVAEConfig keys: colour"):
        from_dict(PoetVAEConfig, {**to_dict(cfg), "colour": 1})


def test_overrides_are_type_checked():
    cfg = apply_overrides(PoetVAEConfig(), ["latent_dim=32", "dropout=0.2", "free_bits=1"])
    assert (cfg.latent_dim, cfg.dropout, cfg.free_bits) == (32, 0.2, 1.0)
    for bad in ["latent_dim=big", "nope=1", "latent_dim"]:
        with pytest.raises(ValueError):
            apply_overrides(cfg, [bad])
    assert dataclasses.is_dataclass(cfg)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset"):
        PoetVAEConfig.preset("huge")
