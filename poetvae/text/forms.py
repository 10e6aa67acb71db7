"""The form registry: the one home of the poem forms poetvae writes.

A form has a name (the `--form` of every command, the studio's `form`), a shape (lines x
characters per line), its Chinese and English titles, the shipped corpus its bundled model is
trained on, and the folder of that model under ``poetvae/assets/``. Every other table derives
from `FORMS`: the CLI's `--form` choices, the studio's form buttons, the shape check of pasted
poems, the outside judge's text, the corpus builder's shapes. Adding a form is a row here, its
corpus under ``corpora/`` and its model under ``poetvae/assets/``.

No torch import: the CLI resolves forms and paths here before it loads anything heavy.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    """A fixed poem shape, e.g. 4 lines of 5 characters (五言绝句)."""

    n_lines: int
    chars_per_line: int

    @property
    def seq_len(self) -> int:
        return self.n_lines * self.chars_per_line

    def __str__(self) -> str:
        return f"{self.n_lines} lines x {self.chars_per_line} chars"


@dataclass(frozen=True)
class PoemForm:
    """One registered form.

    name: the CLI's and the studio's name (``wuyan``). shape: lines x characters per line.
    title: the Chinese title (五言绝句); english: the English one. corpus: the shipped corpus of
    its bundled model. judge: the file of Song-dynasty lines of its line length under
    ``corpora/song-judge/`` (the outside fluency judge).
    """

    name: str
    shape: Shape
    title: str
    english: str
    corpus: str
    judge: str

    @property
    def label(self) -> str:
        """``five-character quatrains (五言绝句)``: how help texts name the form."""
        return f"{self.english} ({self.title})"

    def bundled_model(self) -> Path:
        """The run directory of this form's bundled model (``poetvae/assets/<name>``).

        Raises:
            ValueError: the model is not installed, in one line ("no bundled wulu model in
                this install").
        """
        path = Path(str(resources.files("poetvae").joinpath("assets", self.name)))
        if not (path / "checkpoint" / "model.safetensors").is_file():
            raise ValueError(f"no bundled {self.name} model in this install ({path})")
        return path


FORMS: dict[str, PoemForm] = {
    f.name: f
    for f in (
        PoemForm(
            "wuyan",
            Shape(4, 5),
            "五言绝句",
            "five-character quatrains",
            "tang-wuyan-quatrain",
            "wuyan.txt.gz",
        ),
        PoemForm(
            "qiyan",
            Shape(4, 7),
            "七言绝句",
            "seven-character quatrains",
            "tang-qiyan-quatrain",
            "qiyan.txt.gz",
        ),
        PoemForm(
            "wulu",
            Shape(8, 5),
            "五言律诗",
            "five-character regulated verse",
            "tang-wuyan-lushi",
            "wuyan.txt.gz",
        ),
        PoemForm(
            "qilu",
            Shape(8, 7),
            "七言律诗",
            "seven-character regulated verse",
            "tang-qiyan-lushi",
            "qiyan.txt.gz",
        ),
    )
}
DEFAULT_FORM = "wuyan"


def get(name: str) -> PoemForm:
    """The form of this name.

    Raises:
        ValueError: no such form; the message lists the registered ones.
    """
    if name not in FORMS:
        raise ValueError(f"unknown form {name!r}: choose one of {', '.join(FORMS)}")
    return FORMS[name]


def of_shape(shape: Shape) -> PoemForm | None:
    """The registered form of this shape, or None (e.g. a couplet, or a user's own shape)."""
    return next((f for f in FORMS.values() if f.shape == shape), None)


def shape_of(cfg) -> Shape:
    """The shape a model config (anything with ``n_lines`` and ``chars_per_line``) writes."""
    return Shape(cfg.n_lines, cfg.chars_per_line)


def bundled_model(name: str = DEFAULT_FORM) -> Path:
    """The run directory of the bundled model of the form `name`.

    Raises:
        ValueError: an unknown form, or one whose model is not installed (one line each).
    """
    return get(name).bundled_model()
