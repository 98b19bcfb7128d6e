"""A small multilingual sentiment lexicon (it, en, de, fr), until a trained model replaces it.

A text scores ``(positive - negative) / (positive + negative)`` over its words found in
the lexicon of its language (and the English one, often mixed in), 0 if none: a value in
[-1, 1]. Words are compared casefolded; hashtags count as words; a few multi-word
expressions per language count once more.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)

_POSITIVE: dict[str, frozenset[str]] = {
    "it": frozenset(
        "perfetta perfetto perfetti ottima ottimo ottimi gentile gentili gentilissimo "
        "gentilissima pulita pulito pulite grazie bello bella bellissimo bellissima "
        "puntuale puntuali comodo comoda fantastico fantastica consiglio felice felici "
        "eccellente stupendo stupenda top".split()
    ),
    "en": frozenset(
        "smooth lovely spotless thanks thank great good excellent perfect amazing "
        "comfortable clean friendly happy recommend wonderful fantastic love best nice".split()
    ),
    "de": frozenset(
        "entspannt entspannte entspannten super nett nette netten sauber sauberes saubere "
        "danke pünktlich toll tolle prima perfekt gut schön schöne freundlich empfehlen "
        "endlich bequem".split()
    ),
    "fr": frozenset(
        "parfaite parfait adorable impeccable merci super génial géniale agréable propre "
        "excellent excellente ponctuel heureux heureuse top recommande".split()
    ),
}

_NEGATIVE: dict[str, frozenset[str]] = {
    "it": frozenset(
        "ritardo ritardi vergogna assurdo assurdi assurda derubando sporca sporco sporche "
        "rotta rotto rotti mai pessimo pessima terribile caro cari cancellato "
        "maleducato lento delusione".split()
    ),
    "en": frozenset(
        "late delay delayed awful ridiculous rip dirty broken never terrible worst "
        "bad rude disappointed disappointing expensive cancelled overpriced".split()
    ),
    "de": frozenset(
        "verspätung unmöglich überteuert abzocke schmutzig schmutzige kaputt kaputte nie "
        "schlecht schrecklich teuer enttäuscht unfreundlich dreckig".split()
    ),
    "fr": frozenset(
        "retard honteux honte délirants délirant vol sale sales panne jamais nul nulle "
        "horrible cher chers déçu déçue annulé".split()
    ),
}


_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "it": (("in orario", "senza problemi"), ("mai più", "in ritardo")),
    "en": (("on time", "on schedule"), ("rip off", "no info")),
    "de": (("ohne probleme",), ("nie wieder", "keine info")),
    "fr": (("à l heure", "sans souci"), ("plus jamais", "aucune info")),
}
"""Multi-word expressions (positive, negative), matched on the words joined by spaces."""


_LEXICONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    language: (_POSITIVE[language] | _POSITIVE["en"], _NEGATIVE[language] | _NEGATIVE["en"])
    for language in _POSITIVE
}
"""Per language, its positive and negative words together with the English ones (English
is read in every language's posts)."""
_ENGLISH_ONLY = _LEXICONS["en"]


def sentiment(text: str, language: str) -> float:
    """Sentiment of ``text`` written in ``language`` (it, en, de, fr), from -1 to 1."""
    words = _WORD.findall(text.casefold())
    positive, negative = _LEXICONS.get(language, _ENGLISH_ONLY)
    pos = sum(1 for word in words if word in positive)
    neg = sum(1 for word in words if word in negative)
    joined = f" {' '.join(words)} "
    pos_phrases, neg_phrases = _PHRASES.get(language, ((), ()))
    pos += sum(joined.count(f" {phrase} ") for phrase in pos_phrases)
    neg += sum(joined.count(f" {phrase} ") for phrase in neg_phrases)
    if pos + neg == 0:
        return 0.0
    return (pos - neg) / (pos + neg)
