import gzip
import os

import pytest
import torch

from poetvae import hub
from poetvae.image import data as image_data
from poetvae.image.data import from_hf, load_images, to_unit
from poetvae.image.idx import read_idx, read_split, write_idx
from tests.image_data import idx_folder, tiny_images

torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 5, 4)])
def test_idx_round_trip(tmp_path, name, shape):
    data = torch.randint(0, 256, shape, dtype=torch.uint8)
    write_idx(tmp_path / name, data)
    back = read_idx(tmp_path / name)
    assert back.dtype == torch.uint8 and torch.equal(back, data)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")  # gzip magic only for .gz


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"not idx at all")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "junk")
    write_idx(tmp_path / "short", torch.zeros(4, 4, dtype=torch.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says 16"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"xx")[:-4])
    with pytest.raises(ValueError):
        read_idx(tmp_path / "bad.gz")


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_loads_with_a_held_out_valid_split(tmp_path, gz):
    folder = idx_folder(tmp_path / "d", n_train=120, n_test=40, gz=gz)
    x, y = read_split(folder, "train")
    assert x.shape == (120, 12, 12) and y.dtype == torch.long
    loaded = load_images(str(folder))
    assert len(loaded.train[0]) + len(loaded.valid[0]) == 120 and len(loaded.valid[0]) == 12
    assert torch.equal(torch.cat([loaded.train[0], loaded.valid[0]]), tiny_images(120)[0])
    assert loaded.shape == (12, 12) and loaded.n_classes == 10 and len(loaded.test[0]) == 40
    assert to_unit(loaded.test[0]).shape == (40, 1, 12, 12)
    assert 0.0 <= to_unit(loaded.test[0]).min() and to_unit(loaded.test[0]).max() <= 1.0


def test_named_data_set_uses_the_debian_folder(tmp_path, monkeypatch):
    folder = idx_folder(tmp_path / "fashion-mnist")
    monkeypatch.setitem(image_data.DEBIAN, "fashion-mnist", folder)
    loaded = load_images("fashion-mnist")
    assert loaded.name == "fashion-mnist" and loaded.source == str(folder)


def test_missing_data_says_how_to_get_it_in_one_line(tmp_path, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setitem(image_data.DEBIAN, "fashion-mnist", tmp_path / "absent")
    monkeypatch.setattr(image_data, "hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(FileNotFoundError) as err:
        load_images("fashion-mnist")
    message = str(err.value)
    assert "\n" not in message and "apt-get install dataset-fashion-mnist" in message
    with pytest.raises(FileNotFoundError, match="neither fashion-mnist"):
        load_images(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_images(str(tmp_path / "empty"))


def test_hub_rows_convert_to_uint8_tensors():
    from datasets import Dataset
    from PIL import Image

    x, y = tiny_images(6)
    ds = Dataset.from_dict({"image": [Image.fromarray(a.numpy()) for a in x], "label": y.tolist()})
    images, labels = from_hf(ds)
    assert images.dtype == torch.uint8 and torch.equal(images, x)
    assert labels.dtype == torch.long and torch.equal(labels, y)


def test_hub_path_is_used_when_no_local_copy(tmp_path, monkeypatch):
    import datasets
    from datasets import Dataset, DatasetDict
    from PIL import Image

    def split(n, seed):
        x, y = tiny_images(n, seed)
        return Dataset.from_dict(
            {"image": [Image.fromarray(a.numpy()) for a in x], "label": y.tolist()}
        )

    asked = []
    monkeypatch.setattr(image_data, "hub_reachable", lambda: True)
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda name: asked.append(name) or DatasetDict(train=split(30, 0), test=split(10, 1)),
    )
    loaded = load_images("mnist")
    assert asked == ["ylecun/mnist"] and loaded.source == "hub:ylecun/mnist"
    assert len(loaded.train[0]) == 27 and len(loaded.test[0]) == 10


def test_an_unreachable_hub_fails_at_once_from_the_cache(tmp_path, monkeypatch):
    import time

    import datasets

    from poetvae.text.corpus import CorpusError, load_corpus

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    offline_during_call = []

    def load_dataset(name, **kwargs):
        offline_during_call.append(datasets.config.HF_HUB_OFFLINE)
        raise ConnectionError(f"Couldn't reach '{name}' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setitem(image_data.DEBIAN, "fashion-mnist", tmp_path / "absent")
    monkeypatch.setattr(hub.socket, "create_connection", no_network)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match="cannot be reached") as err:
        load_images("fashion-mnist")
    assert time.monotonic() - start < 5 and "apt-get install" in str(err.value)
    assert offline_during_call == [True]  # the cache answers, no hub retries
    with pytest.raises(CorpusError, match="cannot be reached"):  # a hub corpus, the same way
        load_corpus("owner/poems")
    assert offline_during_call == [True, True]
    assert datasets.config.HF_HUB_OFFLINE is not True or os.environ.get("HF_HUB_OFFLINE")


def test_hub_reachable_honours_offline_mode_and_failed_connects(monkeypatch):
    calls = []
    monkeypatch.setattr(
        hub.socket, "create_connection", lambda *a, **k: calls.append(a) or _Closable()
    )
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub.hub_reachable() and calls == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example:8443")
    assert hub.hub_reachable() and calls == [(("hub.example", 8443),)]


class _Closable:
    def close(self):
        pass
