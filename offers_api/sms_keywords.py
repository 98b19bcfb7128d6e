"""Keywords in inbound SMS: opt-out, opt-in and help, as carriers and Twilio handle them.

A body is a keyword only when the whole message is that one word, Twilio-style: "Stop!"
opts out, "stop by the port tomorrow" does not. Before matching, the body is normalised:
compatibility forms folded (NFKD: full-width letters), accents dropped (ARRÊT → ARRET),
case ignored, and whitespace, punctuation and invisible characters trimmed from both ends.

Keywords and where they come from:

* Shared (any language), exactly Twilio's defaults, so that our consent records agree
  with the block list Twilio keeps on its side ("Twilio support for opt-out keywords (SMS
  STOP filtering)", help.twilio.com article 223134027, and the Advanced Opt-Out tutorial,
  twilio.com/docs/messaging/tutorials/advanced-opt-out):
  opt-out STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT;
  opt-in START, YES, UNSTOP; help HELP, INFO.
* French: opt-out ARRET (the French keyword carriers require in Canada, listed by AWS End
  User Messaging), with ARRETE and ARRETT as Twilio treats them (twilio.com/docs/proxy/
  opt-out-keywords), and DESABONNER, DESINSCRIRE (the verbs a French user writes); help
  AIDE (AWS: the French HELP); opt-in ABONNER, REABONNER (our choice).
* Italian: opt-out ANNULLA (the word AGCOM made customers send to cancel unrequested
  mobile subscriptions, 2020), BASTA, CANCELLA, CANCELLAMI, DISISCRIVI, DISISCRIVIMI; help
  AIUTO; opt-in ISCRIVIMI, RIATTIVA (our choice). FINE (Italian "end") is left out on
  purpose: in English "Fine." means "OK".
* German: opt-out STOPP (German spelling), ABMELDEN, ABBESTELLEN (the usual words to
  unsubscribe), BEENDEN, ENDE (as END and QUIT); help HILFE; opt-in ANMELDEN (our choice).

Non-English keywords beyond ARRET are not Twilio defaults: configure the same lists in
Twilio's Advanced Opt-Out (use :data:`KEYWORDS`) so that the provider blocks and unblocks
on them too. A bare CANCEL opts out (industry standard): booking cancellation must never
be driven by that word alone. Yes-words of other languages (SI, OUI, JA) are not opt-ins:
they answer questions far more often than they give consent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from offers.contracts.events import Language


class KeywordKind(StrEnum):
    """What an inbound SMS asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


_SHARED: Language | None = None
"""Keywords not tied to a language (Twilio's defaults): reply in the customer's language."""

_KEYWORDS_BY_KIND: dict[KeywordKind, dict[Language | None, tuple[str, ...]]] = {
    KeywordKind.OPT_OUT: {
        _SHARED: ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        Language.IT: ("ANNULLA", "BASTA", "CANCELLA", "CANCELLAMI", "DISISCRIVI", "DISISCRIVIMI"),
        Language.FR: ("ARRET", "ARRETE", "ARRETT", "DESABONNER", "DESINSCRIRE"),
        Language.DE: ("STOPP", "ABMELDEN", "ABBESTELLEN", "BEENDEN", "ENDE"),
    },
    KeywordKind.OPT_IN: {
        _SHARED: ("START", "YES", "UNSTOP"),
        Language.IT: ("ISCRIVIMI", "RIATTIVA"),
        Language.FR: ("ABONNER", "REABONNER"),
        Language.DE: ("ANMELDEN",),
    },
    KeywordKind.HELP: {
        _SHARED: ("HELP", "INFO"),
        Language.IT: ("AIUTO",),
        Language.FR: ("AIDE",),
        Language.DE: ("HILFE",),
    },
}


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """The outcome of :func:`classify`.

    ``keyword`` is the normalised keyword matched (None for OTHER); ``language`` the
    language it belongs to, or None for a shared keyword (or OTHER).
    """

    kind: KeywordKind
    keyword: str | None = None
    language: Language | None = None


def _index() -> Mapping[str, KeywordMatch]:
    index: dict[str, KeywordMatch] = {}
    for kind, by_language in _KEYWORDS_BY_KIND.items():
        for language, words in by_language.items():
            for word in words:
                if word in index:
                    raise ValueError(f"SMS keyword {word} is listed twice")
                index[word] = KeywordMatch(kind=kind, keyword=word, language=language)
    return MappingProxyType(index)


KEYWORDS: Mapping[str, KeywordMatch] = _index()
"""Every keyword (normalised, upper case) and what it means."""

NOT_A_KEYWORD = KeywordMatch(kind=KeywordKind.OTHER)


def _is_edge_noise(char: str) -> bool:
    # P*: punctuation, Z*: separators, C*: controls and invisible format characters
    return char.isspace() or unicodedata.category(char)[0] in "PZC"


def normalise(body: str) -> str:
    """``body`` as keywords are listed: no accents, upper case, trimmed of whitespace and
    punctuation at both ends."""
    decomposed = unicodedata.normalize("NFKD", body)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    start, end = 0, len(bare)
    while start < end and _is_edge_noise(bare[start]):
        start += 1
    while end > start and _is_edge_noise(bare[end - 1]):
        end -= 1
    return bare[start:end].upper()


def classify(body: str) -> KeywordMatch:
    """What an inbound SMS body asks for: a keyword only if it is the whole message."""
    return KEYWORDS.get(normalise(body), NOT_A_KEYWORD)


# Replies: short, plain, and in the GSM-7 alphabet (no ç, ê...) so each fits one SMS.
DEFAULT_REPLY_LANGUAGE = Language.IT
"""Reply language when neither the keyword nor the customer tells one."""

_REPLIES: dict[KeywordKind, dict[Language, str]] = {
    KeywordKind.OPT_OUT: {
        Language.IT: "{brand}: non riceverai più offerte via SMS. Per riattivarle rispondi START.",
        Language.EN: "{brand}: you will no longer receive offers by SMS. Reply START to rejoin.",
        Language.FR: (
            "{brand} : vous ne recevrez plus d'offres par SMS. Répondez START pour les "
            "recevoir à nouveau."
        ),
        Language.DE: (
            "{brand}: Sie erhalten keine Angebote per SMS mehr. Antworten Sie START, um sie "
            "wieder zu erhalten."
        ),
    },
    KeywordKind.OPT_IN: {
        Language.IT: (
            "{brand}: riceverai di nuovo le nostre offerte via SMS. Rispondi STOP per non "
            "riceverle più."
        ),
        Language.EN: "{brand}: you will receive our offers by SMS again. Reply STOP to opt out.",
        Language.FR: (
            "{brand} : vous recevrez de nouveau nos offres par SMS. Répondez STOP pour vous "
            "désabonner."
        ),
        Language.DE: (
            "{brand}: Sie erhalten wieder unsere Angebote per SMS. Antworten Sie STOPP, um "
            "sich abzumelden."
        ),
    },
    KeywordKind.HELP: {
        Language.IT: (
            "{brand}: offerte di viaggio via SMS. Rispondi STOP per non riceverle più, START "
            "per riattivarle."
        ),
        Language.EN: "{brand}: travel offers by SMS. Reply STOP to opt out, START to rejoin.",
        Language.FR: (
            "{brand} : offres de voyage par SMS. Répondez STOP pour vous désabonner, START "
            "pour vous réabonner."
        ),
        Language.DE: (
            "{brand}: Reiseangebote per SMS. Antworten Sie STOPP zum Abmelden, START zum Anmelden."
        ),
    },
}


def reply_text(kind: KeywordKind, language: Language, *, brand: str = "Moby") -> str | None:
    """The confirmation to send for ``kind`` in ``language``; None for OTHER."""
    replies = _REPLIES.get(kind)
    if replies is None:
        return None
    return replies[language].format(brand=brand)


def reply_for(
    match: KeywordMatch, customer_language: Language | None = None, *, brand: str = "Moby"
) -> str | None:
    """The reply to a classified SMS: in the keyword's own language if it has one, else in
    the customer's, else in :data:`DEFAULT_REPLY_LANGUAGE`; None for OTHER."""
    language = match.language or customer_language or DEFAULT_REPLY_LANGUAGE
    return reply_text(match.kind, language, brand=brand)
