"""Comment sentiment with VADER (Hutto & Gilbert, ICWSM 2014; `vaderSentiment` on PyPI): a
lexicon and rule-based scorer built for social-media text, no model download, ~25 µs a comment.

VADER reads English only. A comment it cannot read is `unscored`, never guessed: the source
said it is not English, or most of its letters are not Latin script, or its words look like
another language's (stopwords of the common European creator languages outnumber English
ones), or it has words and none of them is recognisably English. Emoji-only comments are
scored: VADER's emoji lexicon is language-neutral.

Labels use VADER's documented thresholds on the compound score: >= 0.05 positive,
<= -0.05 negative, neutral in between.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    SentimentIntensityAnalyzer,
)

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

# VADER turns an emoji into its Unicode description and scores the words: "fire" reads as
# negative and "red heart" as neutral, which is not how comment sections use them.
_EMOJI_SENSE = {
    "🔥": "amazing",
    "💯": "perfect",
    "❤": "love",
    "❤️": "love",
    "😍": "love",
    "🥰": "love",
    "💕": "love",
    "💖": "love",
    "👏": "great",
    "🙌": "great",
}

_EN_WORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can cant could did didnt do does doesnt doing dont down during
    each few for from further get got had has have having he her here hers him his how i if in
    into is isnt it its just like me more most my myself need no nor not now of off on once
    only or other our out over own please same she should so some such than that the their
    them then there these they this those through to too under until up very was wasnt we
    were what when where which while who whom why will with would wow you your yours buy
    price link size color colour looks look want love omg lol thanks thank yes yeah
    where's what's it's i'm you're that's much really wait available ship shipping
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Frequent function words and compliments of the languages creators most often write in
# beside English (es, pt, fr, de, it, nl). Only words that are not also English count.
_FOREIGN_WORDS = (
    frozenset(
        """
        que de la el los las y en por con para una es muy pero como mas más lo se del al mi tu
        te qué está esta este esto son hermosa hermoso lindo linda bonito bonita precioso
        preciosa gracias genial quiero donde dónde cuanto cuánto amo encanta encantan
        não nao muito com você voce é eu obrigado obrigada amei maravilhosa maravilhoso
        le les et est très tres pour je des du une pas trop magnifique belle bravo merci
        c'est j'adore adore superbe
        und ich das ist nicht sehr schön schoen mit der die auf für fuer du wie ein eine toll
        danke wunderschön mega geil
        che il di è molto bello bella per non sono ciao grazie bellissimo bellissima stupenda
        het een ik niet heel mooi van prachtig leuk
        """.split()  # noqa: SIM905
    )
    - _EN_WORDS
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION_OR_TAG = re.compile(r"[@#]\w+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: str  # positive | neutral | negative | unscored
    score: float | None  # VADER compound (-1..1); None when unscored


UNSCORED = Sentiment("unscored", None)


@cache
def _analyzer() -> Any:
    # Immutable after construction (a lexicon in memory): one per process is enough.
    analyzer = SentimentIntensityAnalyzer()
    return analyzer


def _is_latin(char: str) -> bool:
    try:
        return unicodedata.name(char).startswith("LATIN")
    except ValueError:
        return False


def readable(text: str, declared_language: str | None = None) -> bool:
    """Whether VADER can score `text` (English, or language-neutral emoji)."""
    if declared_language and not declared_language.lower().startswith("en"):
        return False
    cleaned = _MENTION_OR_TAG.sub(" ", _URL.sub(" ", text))
    letters = [c for c in cleaned if c.isalpha()]
    if letters:
        latin = sum(1 for c in letters if _is_latin(c))
        if latin < 0.7 * len(letters):
            return False
    words = [w.lower() for w in _WORD.findall(cleaned)]
    if not words:
        return True  # emoji and punctuation only
    lexicon = _analyzer().lexicon
    english = sum(1 for w in words if w in _EN_WORDS or w in lexicon)
    foreign = sum(1 for w in words if w in _FOREIGN_WORDS)
    return english > foreign


def _with_emoji_sense(text: str) -> str:
    for emoji, word in _EMOJI_SENSE.items():
        if emoji in text:
            text = text.replace(emoji, f" {word} ")
    return text


def score(text: str, declared_language: str | None = None) -> Sentiment:
    if not text.strip() or not readable(text, declared_language):
        return UNSCORED
    compound = float(_analyzer().polarity_scores(_with_emoji_sense(text))["compound"])
    if compound >= POSITIVE_THRESHOLD:
        return Sentiment("positive", compound)
    if compound <= NEGATIVE_THRESHOLD:
        return Sentiment("negative", compound)
    return Sentiment("neutral", compound)
