"""The pretrained models shipped as package data, one run directory per poem form.

No torch import: the CLI resolves paths here before it loads anything heavy.
"""

from importlib import resources
from pathlib import Path

FORMS = {
    "wuyan": "five-character quatrains (五言绝句)",
    "qiyan": "seven-character quatrains (七言绝句)",
}
DEFAULT_FORM = "wuyan"
SHAPES = {"wuyan": (4, 5), "qiyan": (4, 7)}  # (lines, characters per line) of each form


def bundled_model(form: str = DEFAULT_FORM) -> Path:
    """The run directory of the bundled model for `form` ("wuyan" or "qiyan").

    Raises:
        ValueError: an unknown form, or one whose model is not shipped with this install.
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: choose one of {', '.join(FORMS)}")
    path = Path(str(resources.files("poetvae").joinpath("assets", form)))
    if not (path / "checkpoint" / "model.safetensors").is_file():
        raise ValueError(f"no bundled {form} model in this install ({path})")
    return path
