import json

import pytest

from poetvae.text.corpus import CorpusError, Shape, format_poem, load_corpus, parse_poem, shipped
from poetvae.text.vocab import UNK_ID, Vocab

from .conftest import shipped_poems


def test_parse_with_and_without_punctuation():
    form = Shape(2, 5)
    assert parse_poem("白日依山尽，黄河入海流。", form) == ["白日依山尽", "黄河入海流"]
    assert parse_poem("白日依山尽黄河入海流", form) == ["白日依山尽", "黄河入海流"]
    assert parse_poem("白日依山尽，黄河入海流。", Shape(4, 5)) is None
    assert parse_poem("白日依山，黄河入海流。") is None  # unequal lines
    assert format_poem(["白日依山尽", "黄河入海流"]) == "白日依山尽，黄河入海流。"


def test_user_text_file_reports_what_does_not_fit(poem_file):
    corpus = load_corpus(str(poem_file))
    assert corpus.form == Shape(4, 5)
    assert sum(len(v) for v in corpus.splits.values()) == 300
    assert corpus.skipped == 2  # the couplet and the prose line, counted, not silently dropped
    assert "skipped 2" in corpus.summary()
    assert all(len(p) == 20 for p in corpus.splits["train"])


def test_texts_in_other_scripts_are_skipped_and_counted(tmp_path):
    others = [
        "abcde fghij klmno pqrst",
        "hello world",
        "白日依山尽，黄河入海流。欲穷千里目，更上一层lou。",
    ]
    path = tmp_path / "poems.txt"
    path.write_text("\n".join(shipped_poems(n=40) + others) + "\n", encoding="utf-8")
    corpus = load_corpus(str(path))
    assert corpus.form == Shape(4, 5) and corpus.skipped == 3
    assert sum(len(v) for v in corpus.splits.values()) == 40
    assert parse_poem("abcde fghij klmno pqrst", Shape(4, 5)) is None


def test_user_json_lines_file(tmp_path):
    rows = [
        {"paragraphs": ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]},
        {"text": "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"},
    ] + [{"content": p} for p in shipped_poems(n=40)]  # enough for a valid split
    path = tmp_path / "poems.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    corpus = load_corpus(str(path))
    assert corpus.form == Shape(4, 5) and corpus.skipped == 0
    assert "床前明月光疑是地上霜举头望明月低头思故乡" in [
        p for v in corpus.splits.values() for p in v
    ]


def test_split_is_deterministic_and_disjoint(poem_file):
    a, b = load_corpus(str(poem_file)), load_corpus(str(poem_file))
    assert a.splits == b.splits
    assert not set(a.splits["train"]) & set(a.splits["test"])


@pytest.mark.parametrize("content", ["", "no poems here\njust prose, really\n"])
def test_empty_or_formless_files_are_errors(tmp_path, content):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError):
        load_corpus(str(path))


def test_unknown_corpus_names_the_shipped_ones():
    with pytest.raises(CorpusError, match="tang-wuyan-quatrain"):
        load_corpus("tang-nonsense")


def test_shipped_corpus_loads_through_datasets():
    corpus = load_corpus("tang-qiyan-quatrain", splits=("valid",))
    meta = shipped()["corpora"]["tang-qiyan-quatrain"]
    assert len(corpus.splits["valid"]) == meta["splits"]["valid"]
    assert corpus.skipped == 0 and corpus.form == Shape(4, 7)


def test_vocab_maps_unknown_characters_to_unk():
    vocab = Vocab.train(["春眠不觉晓处处闻啼鸟"])
    ids = vocab.encode("春眠龘")
    assert ids[2] == UNK_ID and vocab.decode(ids[:2]) == "春眠"
    assert "春" in vocab and "龘" not in vocab


def test_hub_style_folder_uses_its_own_splits(tmp_path):
    rows = shipped_poems(n=40)
    for split, part in (("train", rows[:30]), ("validation", rows[30:35]), ("test", rows[35:])):
        lines = "\n".join(json.dumps({"content": p}, ensure_ascii=False) for p in part)
        (tmp_path / f"{split}.jsonl").write_text(lines, encoding="utf-8")
    corpus = load_corpus(str(tmp_path))
    assert [len(corpus.splits[s]) for s in ("train", "valid", "test")] == [30, 5, 5]
    assert corpus.form == Shape(4, 5)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("poems.txt", bytes(range(128, 256)) * 20, "is not UTF-8 text"),
        ("poems.txt.gz", b"\x1f\x8b not really gzip", "is not UTF-8 text"),
        ("poems.json", b'{"text": "abc"\nnot json\n', "JSON parse error"),
        ("poems.txt", b"\0\0\0\n\x01\x02\x03\n", "no poems of a fixed form"),
    ],
)
def test_a_file_that_is_not_a_corpus_is_named_with_the_reason(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as error:
        load_corpus(str(path))
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert parse_poem("白日依山\0，黄河入海流。") is None  # control characters are no verse
