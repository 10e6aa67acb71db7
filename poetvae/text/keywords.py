"""Keywords of poems: what a poem is about, extracted from the corpus itself, and the user's.

Extraction follows the recipe of the CCPC data set behind Jiuge (Yi et al. 2018, "Chinese
Poetry Generation with a Working Memory Model"): candidate words are scored by TF-IDF combined
with TextRank (Mihalcea & Tarau 2004). A word segmenter trained on modern prose (jieba) cuts
classical lines badly, so candidates are plain n-grams within a line:
- every character that is not a function character (STOP);
- every two adjacent characters of a line without one, kept only where the pair is a word
  of the corpus: seen in at least MIN_PAIR poems of the train split and far likelier together
  than apart (pointwise mutual information at least MIN_PMI nats), so that 明月, 故乡, 秋风
  are candidates and 前明 is not.
A candidate's TF-IDF is 1 + the log of its count in the poem times log(N / df) over the N train
poems (df at least N / RARE: rarer words are not more of a theme); its
TextRank is its PageRank in the graph of the poem's candidates, linked where two share a line
or a couplet. The score is their product; the best MAX_KEYWORDS that share no character are
the poem's keywords, a word before its own characters. No torch here: the corpus script and the
CLI use it.
"""

import math
from collections import Counter
from collections.abc import Iterable

MAX_KEYWORDS = 4
# function characters: negations, pronouns, particles, numbers and verbs of motion that every
# theme uses (不 is in 8 % of Tang quatrain lines); without them they top the TF-IDF x TextRank
# ranking of any poem whose imagery is rare, and tell nothing of the theme
STOP = frozenset(
    "不无有何自一之其来去是为与而亦已又未莫谁此彼尔君我吾汝若如犹似将欲可能得见知使令更还"
    "皆共所者也乎哉矣焉兮於于以因从在即非复今几多少应须那岂两三最"
)
# never a keyword alone, but part of words: positions, numbers, measure words (千里, 边塞, 白头)
ALONE = frozenset("上下中里头前后外间边二四五六七八九十百千万年日时处相低")
# a keyword is in at least this many train poems (themes, not names), and a two-character word
# in MIN_PAIR; in a small corpus, in one poem of 1,000 (and 5,000), and in two at least
MIN_DF = 50
MIN_PAIR = 8
MIN_PMI = 1.5  # nats: a pair side by side at least 4.5 times as often as by chance
RARE = 300  # see `idf`
RELATIVE = 0.25  # a keyword scores at least this share of the poem's best
SEPARATORS = ",，、;；/ 　\t"


def _lines(poem: str, chars_per_line: int) -> list[str]:
    return [poem[i : i + chars_per_line] for i in range(0, len(poem), chars_per_line)]


def _pairs(line: str) -> list[str]:
    return [line[i : i + 2] for i in range(len(line) - 1)]


class KeywordExtractor:
    """TF-IDF x TextRank keywords, with statistics from a corpus's train split.

    Args:
        poems: the train split, each a string of n_lines * chars_per_line characters.
        chars_per_line: the form's line length.
    """

    def __init__(self, poems: list[str], chars_per_line: int):
        self.n = chars_per_line
        char_df, pair_df = Counter(), Counter()
        char_n, pair_n = Counter(), Counter()  # occurrences, for the pairs' association
        for poem in poems:
            pairs = [p for line in _lines(poem, self.n) for p in _pairs(line)]
            char_df.update(set(poem))
            pair_df.update(set(pairs))
            char_n.update(poem)
            pair_n.update(pairs)
        total = max(1, len(poems))
        self.min_df = max(2, min(MIN_DF, total // 1000))
        self.min_pair = max(2, min(MIN_PAIR, total // 5000))
        n_chars, n_pairs = max(1, sum(char_n.values())), max(1, sum(pair_n.values()))
        self.df = Counter(char_df)
        self.words: dict[str, float] = {}  # two-character words -> their PMI
        for pair, df in pair_df.items():
            if df < self.min_pair or pair[0] == pair[1] or STOP & set(pair):
                continue
            # PMI of the two characters side by side in a line against their frequencies
            expected = char_n[pair[0]] * char_n[pair[1]] / n_chars**2
            pmi = math.log(pair_n[pair] / n_pairs / expected)
            if pmi >= MIN_PMI:
                self.words[pair] = pmi
                self.df[pair] = df
        self.total = total

    def idf(self, word: str) -> float:
        # words rarer than one poem in RARE count as equally rare: IDF alone would make every
        # poem's keywords its rarest words (床前 over 故乡), where a theme is a common word
        df = max(self.df.get(word, 0), self.total / RARE)
        return math.log(self.total / (1 + df))

    def candidates(self, poem: str) -> list[tuple[str, int]]:
        """(word, line index) of each candidate occurrence, in poem order."""
        out = []
        for i, line in enumerate(_lines(poem, self.n)):
            for j, c in enumerate(line):
                twin = c in line[max(0, j - 1) : j] + line[j + 1 : j + 2]  # 悠悠, 萧萧: a sound
                if not twin and c not in STOP and c not in ALONE and self.df[c] >= self.min_df:
                    out.append((c, i))
            # overlapping words of a line (思故 and 故乡 in 低头思故乡): the more frequent wins
            taken: set[int] = set()
            pairs = [(p, j) for j, p in enumerate(_pairs(line)) if p in self.words]
            for pair, j in sorted(pairs, key=lambda pj: (-self.df[pj[0]], pj[1])):
                if not {j, j + 1} & taken:
                    taken |= {j, j + 1}
                    out.append((pair, i))
        return out

    def keywords(self, poem: str, k: int = MAX_KEYWORDS) -> list[str]:
        """Up to k keywords of one poem, best first, no two sharing a character."""
        occ = self.candidates(poem)
        if not occ:
            return []
        words = list(dict.fromkeys(w for w, _ in occ))
        tf = Counter(w for w, _ in occ)
        rank = _textrank(words, occ)
        # sublinear tf: a word said twice (明月 in 静夜思) leads, without silencing the rest
        score = {w: (1 + math.log(tf[w])) * self.idf(w) * rank[w] for w in words}
        # a word before its characters: a pair counts its characters' evidence too
        for w in words:
            if len(w) == 2:
                score[w] += sum(score.get(c, 0.0) for c in w) * 0.5
        chosen: list[str] = []
        used: set[str] = set()
        ranked = sorted(words, key=lambda w: (-score[w], w))
        for w in ranked:
            if score[w] < RELATIVE * score[ranked[0]]:
                break
            if used & set(w):
                continue
            chosen.append(w)
            used |= set(w)
            if len(chosen) == k:
                break
        return chosen


def _textrank(words: list[str], occ: list[tuple[str, int]], d: float = 0.85) -> dict[str, float]:
    """PageRank (damping d) of the poem's candidates, linked where they share a line (weight 2)
    or a couplet (weight 1) and no character."""
    import numpy as np

    index = {w: i for i, w in enumerate(words)}
    at = np.array([index[w] for w, _ in occ])
    line = np.array([i for _, i in occ])
    link = np.where(line[:, None] == line, 2.0, np.where(line[:, None] // 2 == line // 2, 1.0, 0))
    onehot = np.zeros((len(occ), len(words)))
    onehot[np.arange(len(occ)), at] = 1.0
    weight = onehot.T @ link @ onehot  # (n, n) summed over occurrences
    chars = sorted({c for w in words for c in w})
    has = np.array([[c in w for c in chars] for w in words], dtype=float)
    weight[(has @ has.T) > 0] = 0.0  # no link to itself or to a word sharing a character
    out = weight.sum(1, keepdims=True)
    trans = np.divide(weight, out, out=np.zeros_like(weight), where=out > 0)  # row-stochastic
    rank = np.ones(len(words))
    for _ in range(30):
        rank = (1 - d) + d * trans.T @ rank
    return {w: float(rank[index[w]]) for w in words}


def extract(
    train: list[str], splits: dict[str, list[str]], chars_per_line: int, k: int = MAX_KEYWORDS
) -> dict[str, list[list[str]]]:
    """Keywords of every poem of every split, with document frequencies from `train`.

    Returns:
        split -> one list of up to k keywords per poem, aligned with `splits`.
    """
    extractor = KeywordExtractor(train, chars_per_line)
    return {s: [extractor.keywords(p, k) for p in poems] for s, poems in splits.items()}


def parse_keywords(text: str | Iterable[str] | None) -> list[str]:
    """The user's keywords: a string of words separated by commas, 、 or spaces, or a list.

    Raises:
        ValueError: no keyword, more than MAX_KEYWORDS, or a keyword that is not all Chinese
            characters.
    """
    from .corpus import is_ideograph

    if text is None:
        return []
    if isinstance(text, str):
        for sep in SEPARATORS:
            text = text.replace(sep, ",")
        words = [w for w in text.split(",") if w]
    else:
        words = [w.strip() for w in text if w.strip()]
    if not words:
        raise ValueError("keywords: give one to four words, e.g. 明月,故乡")
    if len(words) > MAX_KEYWORDS:
        got = ",".join(words)
        raise ValueError(f"keywords: at most {MAX_KEYWORDS} words, got {len(words)}: {got}")
    bad = [w for w in words if not all(map(is_ideograph, w))]
    if bad:
        raise ValueError(f"keywords must be Chinese characters: {','.join(bad)}")
    return list(dict.fromkeys(words))
