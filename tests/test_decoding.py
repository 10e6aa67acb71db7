import pytest

from poetvae.text.decoding import DEFAULT_TEMPERATURE, MASK_PREDICT_PASSES, Decoding


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": float("nan")},
        {"temperature": float("inf")},
        {"temperature": -0.5},
        {"temperature": 1e9},
        {"top_p": float("nan")},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"passes": 0},
        {"passes": 1000},
        {"refine": -1},
        {"refine": 1000},
        {"rarity": -0.1},
        {"rarity": float("nan")},
        {"rarity": 100},
        {"presence": -1.0},
        {"presence": float("inf")},
        {"presence": 11.0},
        {"precision": "fp16"},
    ],
)
def test_unusable_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Decoding(**kwargs)


def test_passes_default_to_the_decoders_own():
    assert Decoding().passes_for("mask-predict") == MASK_PREDICT_PASSES
    assert Decoding().passes_for("parallel") == Decoding().passes_for("causal") == 1
    assert Decoding(passes=2).passes_for("mask-predict") == 2


def test_the_temperature_defaults_to_the_models_own():
    assert Decoding().temperature is None
    assert Decoding().for_model(None).temperature == DEFAULT_TEMPERATURE
    assert Decoding().for_model({}).presence == 0.0
    assert Decoding().for_model({"temperature": 1.2}).temperature == 1.2
    assert Decoding(temperature=0.5).for_model({"temperature": 1.2}).temperature == 0.5
    own = Decoding(presence=2.0).for_model({"temperature": 1.2, "presence": 1.0})
    assert (own.temperature, own.presence) == (1.2, 2.0)


def test_decoding_settings_import_no_torch():
    import subprocess
    import sys

    code = "import sys, poetvae.text.decoding; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
