"""The form registry: every form's corpus is shipped with its shape, names are unique, and the
registry stays torch-free."""

import subprocess
import sys

import pytest

from poetvae.text import forms
from poetvae.text.corpus import shipped


def test_every_form_names_a_shipped_corpus_of_its_shape():
    corpora = shipped()["corpora"]
    for form in forms.FORMS.values():
        meta = corpora[form.corpus]
        assert forms.Shape(meta["n_lines"], meta["chars_per_line"]) == form.shape, form.name


def test_shapes_are_unique_and_round_trip():
    shapes = [f.shape for f in forms.FORMS.values()]
    assert len(set(shapes)) == len(shapes)
    for form in forms.FORMS.values():
        assert forms.of_shape(form.shape) is form
    assert forms.of_shape(forms.Shape(2, 5)) is None
    assert forms.get("wulu").shape == forms.Shape(8, 5) and forms.get("qilu").title == "七言律诗"


def test_unknown_and_missing_forms_are_one_line_value_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="choose one of wuyan, qiyan, wulu, qilu"):
        forms.get("sonnet")
    monkeypatch.setattr(forms.resources, "files", lambda package: tmp_path)
    with pytest.raises(ValueError, match="^no bundled wulu model in this install"):
        forms.bundled_model("wulu")


def test_a_model_config_knows_its_shape():
    from poetvae.text.model import PoetVAEConfig

    cfg = PoetVAEConfig.preset("tiny", n_lines=8, chars_per_line=7)
    assert cfg.shape == forms.Shape(8, 7) and cfg.shape.seq_len == cfg.seq_len == 56


def test_the_registry_imports_no_torch():
    code = "import sys, poetvae.text.forms; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
