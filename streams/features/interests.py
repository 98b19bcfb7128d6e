"""What a social post is about: brand mentions and interest tags, from its own text.

Interest tags:

- islands: ``sardinia``, ``corsica``, ``elba``, from words or hashtags in any of the
  four languages;
- routes: ``route:<ORIGIN>-<DESTINATION>`` (port codes of :data:`simulators.ports.PORTS`)
  when the text names two ports joined by a hyphen, e.g. "Livorno-Olbia";
- ``family``: family, children (famiglia, Familie, famille, kids, ...);
- ``car``: car, auto, voiture, Wagen, ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from simulators.ports import PORTS

_WORD = re.compile(r"\w+", re.UNICODE)
_MOBY = re.compile("moby", re.IGNORECASE)

_ISLANDS: dict[str, str] = {
    **dict.fromkeys(("sardegna", "sardinia", "sardinien", "sardaigne"), "sardinia"),
    **dict.fromkeys(("corsica", "corse", "korsika"), "corsica"),
    **dict.fromkeys(("elba", "elbe", "isoladelba"), "elba"),
}
_FAMILY_PREFIXES = ("famil", "famig", "bambin", "kinder", "kids", "child", "enfant")
_CAR_WORDS = frozenset(
    "car cars auto automobile macchina voiture wagen pkw camper wohnmobil".split()
)
_PORT_BY_NAME = {port.name.casefold(): port.code for port in PORTS}
_ROUTE = re.compile(
    "("
    + "|".join(re.escape(name) for name in sorted(_PORT_BY_NAME, key=len, reverse=True))
    + r")\s*-\s*("
    + "|".join(re.escape(name) for name in sorted(_PORT_BY_NAME, key=len, reverse=True))
    + ")",
    re.IGNORECASE,
)


def brand_mentions(text: str, mentions: Iterable[str]) -> int:
    """Brand mentions of a post: its listed mentions, plus "moby" elsewhere in the text.

    Each listed mention is removed from the text once (case-insensitively) before the
    remaining occurrences of "moby" are counted, so that a mention is not counted twice:
    "Moby, see you soon #mobylines" listing "Moby" has 2 mentions.
    """
    listed = list(mentions)
    rest = text
    for mention in listed:
        rest = re.sub(re.escape(mention), " ", rest, count=1, flags=re.IGNORECASE)
    return len(listed) + len(_MOBY.findall(rest))


def interest_tags(text: str, hashtags: Iterable[str]) -> tuple[str, ...]:
    """The sorted interest tags of a post's text and hashtags."""
    words = _WORD.findall(" ".join([text, *hashtags]).casefold())
    tags = {_ISLANDS[word] for word in words if word in _ISLANDS}
    if any(word.startswith(_FAMILY_PREFIXES) for word in words):
        tags.add("family")
    if any(word in _CAR_WORDS for word in words):
        tags.add("car")
    for origin, destination in _ROUTE.findall(text):
        start, end = _PORT_BY_NAME[origin.casefold()], _PORT_BY_NAME[destination.casefold()]
        if start != end:
            tags.add(f"route:{start}-{end}")
    return tuple(sorted(tags))
