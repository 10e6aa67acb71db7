"""Poem corpora: the shipped Tang corpora by name, a user's text/JSON file, or a hub data set,
all loaded through Hugging Face `datasets`, parsed into fixed forms and split deterministically.

A poem is a list of equally long lines of Chinese characters; in tensors it is the
concatenation of its characters (seq_len = n_lines * chars_per_line). Texts that are not poems
of the corpus's form (other shapes, other scripts) are counted and reported, never dropped
silently, and a corpus left with no poem for training or validation is refused.
"""

import functools
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .forms import Shape

SPLITS = ("train", "valid", "test")
_BREAKS = re.compile(r"[，。！？；：、,.!?;:\s　]+")


class CorpusError(ValueError):
    """A corpus that cannot be found or holds too few poems of a fixed form."""


@dataclass
class Corpus:
    """Poems of one form by split, each as a string of seq_len characters, and for a shipped
    corpus their keywords (split -> one list of words per poem, built by
    scripts/build_keywords.py; None where the corpus has none)."""

    name: str
    form: Shape
    splits: dict[str, list[str]]
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    keywords: dict[str, list[list[str]]] | None = None

    def summary(self) -> str:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.splits.items())
        text = f"corpus {self.name}: {self.form}; {sizes}"
        if self.skipped:
            text += f"; skipped {self.skipped} poems not of this form in Chinese characters"
        return text


@functools.cache
def is_ideograph(char: str) -> bool:
    """Whether a character is a CJK (unified or compatibility) ideograph: what the verse of a
    Chinese form is written in."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def split_lines(text: str) -> list[str]:
    """Lines of a poem written with any of ，。！？；： (or spaces) between lines."""
    return [line for line in _BREAKS.split(text.strip()) if line]


def parse_poem(text: str, form: Shape | None = None) -> list[str] | None:
    """Lines of `text` if it is a poem of `form` (or of any uniform form when None), written in
    Chinese characters, else None.

    Punctuation is optional when the form is known: a run of seq_len characters is cut into lines.
    """
    lines = split_lines(text)
    if form is not None and len(lines) == 1 and len(lines[0]) == form.seq_len:
        chars, n = lines[0], form.chars_per_line
        lines = [chars[i : i + n] for i in range(0, len(chars), n)]
    if not lines or len({len(line) for line in lines}) != 1:
        return None
    if not all(map(is_ideograph, "".join(lines))):  # no Latin, no control codes
        return None
    if form is not None and (len(lines), len(lines[0])) != (form.n_lines, form.chars_per_line):
        return None
    return lines


@functools.cache
def _table(name: str) -> dict[str, str]:
    """corpora/NAME/NAME.tsv, one character to another per row."""
    text = resources.files("poetvae.corpora").joinpath(name, f"{name}.tsv").read_text("utf-8")
    return dict(line.split("\t") for line in text.splitlines())


def standard_forms(text: str) -> str:
    """`text` with each variant character (异体字) of the corpora in its standard form, as a
    Simplified edition writes it (corpora/variants, from Unihan: 疎 -> 疏, 鴈 -> 雁, 劒 -> 剑; a
    character of the 通用规范汉字表 is never changed). The corpora keep the variants of their
    source; what the models write and what it is compared with pass through this."""
    table = _table("variants")
    return "".join(table.get(c, c) for c in text)


def to_simplified(text: str, keep: Container[str] = ()) -> str:
    """`text` in Simplified script, one character at a time: Traditional characters in their
    Simplified form (corpora/t2s, from OpenCC's t2s: 盡 -> 尽), then variants in their standard
    form (see `standard_forms`), except the characters in `keep` that would not stay in it.

    Args:
        text: any text; characters without a Simplified form stay as they are.
        keep: e.g. a model's vocabulary: a character it holds stays Traditional (the corpora
            keep some Traditional forms where a phrase asks for them, 乾 in 乾坤) and a variant
            it holds stays a variant where it does not hold the standard form.

    Returns:
        a string of the same length.
    """
    t2s, variants = _table("t2s"), _table("variants")

    def one(c: str) -> str:
        simple = c if c in keep else t2s.get(c, c)
        standard = variants.get(simple, simple)
        return standard if standard in keep or simple not in keep else simple

    return "".join(one(c) for c in text)


def format_poem(lines: list[str]) -> str:
    """Lines joined the classical way: ， after odd lines, 。 after even lines."""
    return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))


def chunk(chars: str, form: Shape) -> list[str]:
    """A seq_len string cut back into its lines."""
    n = form.chars_per_line
    return [chars[i : i + n] for i in range(0, form.seq_len, n)]


def shipped() -> dict:
    """index.json of the shipped corpora (no `datasets` import: cheap)."""
    return json.loads(resources.files("poetvae.corpora").joinpath("index.json").read_text("utf-8"))


def load_corpus(source: str, splits: tuple[str, ...] = SPLITS) -> Corpus:
    """Load a shipped corpus by name, a local .txt/.json/.jsonl(.gz) file, a data set folder, or
    a hub data set ("owner/name", cached by `datasets`).

    Raises:
        CorpusError: unknown source, unreadable file, or no poem of a fixed form in it.
    """
    index = shipped()["corpora"]
    if source in index:
        meta = index[source]
        form = Shape(meta["n_lines"], meta["chars_per_line"])
        root = resources.files("poetvae.corpora").joinpath(source)
        files = {s: str(root.joinpath(f"{s}.txt.gz")) for s in splits}
        texts = _load_texts("text", files)
        corpus = _parse(source, texts, form)
        corpus.keywords = _load_keywords(root.joinpath("keywords"), corpus.splits)
        return corpus
    path = Path(source)
    if path.is_dir():  # a data set folder laid out like a hub repository
        return _from_dataset(source, _load_texts(source, None), splits)
    if path.exists():
        if path.stat().st_size == 0:
            raise CorpusError(f"corpus file {source!r} is empty")
        _check_utf8(path)
        suffixes = [s for s in path.suffixes if s not in (".gz", ".bz2", ".xz")]
        builder = "json" if suffixes and suffixes[-1] in (".json", ".jsonl") else "text"
        texts = _load_texts(builder, {"train": str(path)})["train"]
        return _parse(source, _hash_split(texts, splits), None)
    if "/" not in source:
        names = ", ".join(sorted(index))
        raise CorpusError(f"unknown corpus {source!r}: not a file, nor one of {names}")
    from ..hub import hub_reachable

    offline = not hub_reachable()  # fail at once, or load the cached copy, without the hub
    return _from_dataset(source, _load_texts(source, None, offline), splits)


def _load_keywords(folder, splits: dict[str, list[str]]) -> dict[str, list[list[str]]] | None:
    """Keywords of a shipped corpus's poems, split by split; None if it has no keyword files."""
    import gzip

    out = {}
    for split, poems in splits.items():
        path = folder.joinpath(f"{split}.txt.gz")
        if not path.is_file():
            return None
        with gzip.open(str(path), "rt", encoding="utf-8") as f:
            out[split] = [line.split() for line in f.read().splitlines()]
        if len(out[split]) != len(poems):
            raise CorpusError(
                f"{path}: {len(out[split])} lines of keywords for {len(poems)} poems: rebuild "
                "them with scripts/build_keywords.py"
            )
    return out


def _check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 text (after decompression) before `datasets` reads it."""
    import bz2
    import codecs
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with opener(path, "rb") as f:
            while block := f.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, OSError, EOFError, lzma.LZMAError) as e:
        reason = "bad UTF-8" if isinstance(e, UnicodeDecodeError) else str(e) or type(e).__name__
        raise CorpusError(
            f"corpus file {str(path)!r} is not UTF-8 text ({reason}): give one poem per line, "
            "or a .json/.jsonl file of poems"
        ) from None


def _from_dataset(name: str, texts: dict[str, list[str]], splits: tuple[str, ...]) -> Corpus:
    """A hub-style data set: its own splits when it has them all, else the hashed split."""
    if set(splits) <= set(texts):
        return _parse(name, {s: texts[s] for s in splits}, None)
    return _parse(name, _hash_split([t for v in texts.values() for t in v], splits), None)


def _load_texts(
    builder: str, files: dict[str, str] | None, offline: bool = False
) -> dict[str, list[str]]:
    import datasets  # heavy: only here, never on the generate path

    from ..hub import hub_offline

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # our error says it in one line
    try:
        with hub_offline(offline):
            ds = datasets.load_dataset(builder, data_files=files)
    except Exception as e:  # datasets raises many types for unreadable data
        if isinstance(e, datasets.exceptions.DatasetGenerationError) and e.__cause__ is not None:
            e = e.__cause__  # "An error occurred while generating the dataset" says nothing
        what = f"data set {builder}" if files is None else f"file {', '.join(files.values())}"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if offline:
            reason = "the Hugging Face hub cannot be reached and it is not cached"
        raise CorpusError(f"cannot load corpus {what}: {reason}") from None
    renamed = {"validation": "valid"}
    return {renamed.get(split, split): [_poem_text(row) for row in d] for split, d in ds.items()}


def _poem_text(row: dict) -> str:
    for key in ("text", "content", "poem", "paragraphs"):
        value = row.get(key)
        if isinstance(value, list):
            return "".join(str(v) for v in value)
        if isinstance(value, str):
            return value
    return next((v for v in row.values() if isinstance(v, str)), "")


def _hash_split(texts: list[str], splits: tuple[str, ...]) -> dict[str, list[str]]:
    """The shipped corpora's split rule (sha1 bucket <90 train, <95 valid, else test) by text."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for text in texts:
        bucket = int(hashlib.sha1(text.strip().encode()).hexdigest(), 16) % 100
        out["train" if bucket < 90 else "valid" if bucket < 95 else "test"].append(text)
    return {s: out[s] for s in splits}


def _parse(name: str, texts: dict[str, list[str]], form: Shape | None) -> Corpus:
    if form is None:
        shapes = Counter()
        for split_texts in texts.values():
            for text in split_texts:
                lines = parse_poem(text)
                if lines is not None:
                    shapes[len(lines), len(lines[0])] += 1
        if not shapes:
            n = sum(bool(t.strip()) for v in texts.values() for t in v)
            raise CorpusError(
                f"no poems of a fixed form (equal-length lines of Chinese characters) in {name!r}: "
                f"{n} texts, none a poem"
            )
        form = Shape(*shapes.most_common(1)[0][0])
    out: dict[str, list[str]] = {}
    skipped, examples = 0, []
    for split, split_texts in texts.items():
        out[split] = []
        for text in split_texts:
            lines = parse_poem(text, form)
            if lines is None:
                skipped += bool(text.strip())
                if text.strip() and len(examples) < 3:
                    examples.append(text.strip()[:40])
            else:
                out[split].append("".join(lines))
    empty = [split for split in ("train", "valid") if split in out and not out[split]]
    if empty or not any(out.values()):
        sizes = ", ".join(f"{k} {len(v)}" for k, v in out.items())
        raise CorpusError(
            f"too few poems of form {form} in {name!r} to split: {sizes} "
            f"({skipped} texts skipped); train and valid need a poem each"
        )
    return Corpus(name, form, out, skipped, examples)
