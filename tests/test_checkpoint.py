import pytest
import torch
from safetensors.torch import load_file

from poetvae.core import checkpoint
from poetvae.text.model import PoetVAE, PoetVAEConfig, files, load
from poetvae.text.vocab import Vocab


@pytest.fixture()
def model():
    torch.manual_seed(0)
    vocab = Vocab.train(["春眠不觉晓处处闻啼鸟", "夜来风雨声花落知多少"])
    cfg = PoetVAEConfig.preset("tiny", vocab_size=len(vocab), n_lines=2)
    return PoetVAE(cfg, vocab).eval()


def test_save_load_gives_identical_weights_and_outputs(tmp_path, model):
    checkpoint.save(tmp_path, model, model.meta(), files(model))
    loaded = load(tmp_path)
    for (k, a), (k2, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(a, b)
    z = torch.randn(3, model.cfg.latent_dim)
    assert torch.equal(model.decode(z), loaded.decode(z))
    assert loaded.vocab.itos == model.vocab.itos


def test_half_precision_checkpoint_loads_as_float32(tmp_path, model):
    checkpoint.save(tmp_path, model, model.meta(), files(model), half=True)
    loaded = load(tmp_path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    torch.testing.assert_close(loaded.embed.weight, model.embed.weight, atol=1e-3, rtol=1e-3)


def test_int8_checkpoint_restores_large_matrices_within_half_a_step(tmp_path, model, monkeypatch):
    monkeypatch.setattr(checkpoint, "INT8_MIN_SIZE", 500)  # the tiny model's matrices are small
    checkpoint.save(tmp_path, model, model.meta(), files(model), half=True, int8=True)
    stored = load_file(str(tmp_path / "checkpoint" / checkpoint.WEIGHTS))
    loaded = load(tmp_path)
    for name, value in model.state_dict().items():
        if name + checkpoint.SCALE in stored:  # 8 bits: within half a step of its row's scale
            step = value.abs().reshape(len(value), -1).amax(-1) / 127
            err = (loaded.state_dict()[name] - value).abs().reshape(len(value), -1).amax(-1)
            assert (err <= step / 2 + 1e-6).all(), name
        else:
            assert stored[name].dtype in (torch.float16, torch.int64), name
            torch.testing.assert_close(loaded.state_dict()[name], value, atol=1e-3, rtol=1e-3)
    eight = [k for k in stored if k + checkpoint.SCALE in stored]
    assert len(eight) >= 2 and all(stored[k].dtype == torch.int8 for k in eight)


def test_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, model, monkeypatch):
    checkpoint.save(tmp_path, model, {**model.meta(), "step": 1}, files(model))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_model", broken)
    with pytest.raises(OSError):
        checkpoint.save(tmp_path, model, {**model.meta(), "step": 2}, files(model))
    assert checkpoint.read_meta(tmp_path)["step"] == 1
    load(tmp_path)


def test_interrupted_swap_still_resolves(tmp_path, model):
    checkpoint.save(tmp_path, model, model.meta(), files(model))
    (tmp_path / checkpoint.CKPT).rename(tmp_path / checkpoint.OLD)  # killed between the renames
    assert checkpoint.resolve(tmp_path) == tmp_path / checkpoint.OLD


@pytest.mark.parametrize("damage", ["weights", "config", "vocab", "missing", "other_model"])
def test_bad_checkpoints_raise_checkpoint_error(tmp_path, model, damage):
    ckpt = checkpoint.save(tmp_path, model, model.meta(), files(model))
    if damage == "weights":
        (ckpt / checkpoint.WEIGHTS).write_bytes(b"not safetensors")
    elif damage == "config":
        (ckpt / checkpoint.CONFIG).write_text("{broken")
    elif damage == "vocab":
        (ckpt / "vocab.model").write_bytes(Vocab.train(["一二三四五"]).model_bytes)
    elif damage == "missing":
        tmp_path = tmp_path / "nowhere"
    else:
        (ckpt / checkpoint.CONFIG).write_text('{"model_type": "vae", "model": {}}')
    with pytest.raises(checkpoint.CheckpointError):
        load(tmp_path)


def test_weights_of_another_size_are_rejected(tmp_path, model):
    ckpt = checkpoint.save(tmp_path, model, model.meta(), files(model))
    bigger = PoetVAE(
        PoetVAEConfig.preset("tiny", vocab_size=model.cfg.vocab_size, d_model=64, n_lines=2),
        model.vocab,
    )
    checkpoint.save(tmp_path / "b", bigger, bigger.meta(), files(bigger))
    (ckpt / checkpoint.WEIGHTS).write_bytes(
        (tmp_path / "b" / "checkpoint" / "model.safetensors").read_bytes()
    )
    with pytest.raises(checkpoint.CheckpointError, match="do not fit"):
        load(tmp_path)


@pytest.mark.parametrize("content", [b"0", b"[]", b'"text"', b"null"])
def test_a_config_that_is_json_but_no_object_is_a_checkpoint_error(tmp_path, content):
    torch.manual_seed(0)
    checkpoint.save(tmp_path, torch.nn.Linear(2, 2), {"model_type": "x"})
    (tmp_path / checkpoint.CKPT / checkpoint.CONFIG).write_bytes(content)
    with pytest.raises(checkpoint.CheckpointError, match="not a JSON object"):
        checkpoint.read_meta(tmp_path)
