"""Classification of inbound SMS keywords and the replies of offers_api.sms_keywords."""

from __future__ import annotations

import pytest

from offers.contracts.events import Language
from offers_api.sms_keywords import (
    DEFAULT_REPLY_LANGUAGE,
    KEYWORDS,
    KeywordKind,
    KeywordMatch,
    classify,
    normalise,
    reply_for,
    reply_text,
)

OPT_OUT, OPT_IN, HELP, OTHER = (
    KeywordKind.OPT_OUT,
    KeywordKind.OPT_IN,
    KeywordKind.HELP,
    KeywordKind.OTHER,
)
IT, EN, FR, DE = Language.IT, Language.EN, Language.FR, Language.DE

# (body, kind, keyword, language): every keyword, in every language
TABLE: list[tuple[str, KeywordKind, str, Language | None]] = [
    # Twilio defaults, shared by every language
    ("STOP", OPT_OUT, "STOP", None),
    ("stopall", OPT_OUT, "STOPALL", None),
    ("Unsubscribe", OPT_OUT, "UNSUBSCRIBE", None),
    ("cancel.", OPT_OUT, "CANCEL", None),
    (" end ", OPT_OUT, "END", None),
    ("Quit!", OPT_OUT, "QUIT", None),
    ("revoke", OPT_OUT, "REVOKE", None),
    ("OptOut", OPT_OUT, "OPTOUT", None),
    ("start", OPT_IN, "START", None),
    ("Yes!", OPT_IN, "YES", None),
    ("UNSTOP", OPT_IN, "UNSTOP", None),
    ("help?", HELP, "HELP", None),
    ("Info", HELP, "INFO", None),
    # Italian
    ("Annulla", OPT_OUT, "ANNULLA", IT),
    ("BASTA!!!", OPT_OUT, "BASTA", IT),
    ("cancella", OPT_OUT, "CANCELLA", IT),
    ("Cancellami.", OPT_OUT, "CANCELLAMI", IT),
    ("disiscrivi", OPT_OUT, "DISISCRIVI", IT),
    ("Disiscrivimi!", OPT_OUT, "DISISCRIVIMI", IT),
    ("iscrivimi", OPT_IN, "ISCRIVIMI", IT),
    ("Riattiva", OPT_IN, "RIATTIVA", IT),
    ("aiuto", HELP, "AIUTO", IT),
    # French
    ("Arrêt", OPT_OUT, "ARRET", FR),
    ("arret", OPT_OUT, "ARRET", FR),
    ("ARRÊTE !", OPT_OUT, "ARRETE", FR),
    ("arrett", OPT_OUT, "ARRETT", FR),
    ("Désabonner", OPT_OUT, "DESABONNER", FR),
    ("desabonner", OPT_OUT, "DESABONNER", FR),
    ("DÉSINSCRIRE.", OPT_OUT, "DESINSCRIRE", FR),
    ("abonner", OPT_IN, "ABONNER", FR),
    ("Réabonner", OPT_IN, "REABONNER", FR),
    ("Aide ?", HELP, "AIDE", FR),
    # German
    ("Stopp", OPT_OUT, "STOPP", DE),
    ("abmelden", OPT_OUT, "ABMELDEN", DE),
    ("Abbestellen.", OPT_OUT, "ABBESTELLEN", DE),
    ("beenden", OPT_OUT, "BEENDEN", DE),
    ("Ende", OPT_OUT, "ENDE", DE),
    ("Anmelden", OPT_IN, "ANMELDEN", DE),
    ("HILFE!", HELP, "HILFE", DE),
]

# the same keyword, dressed up as people and phones send it
DRESSINGS = [
    "{}",
    "{}.",
    "{}!",
    "  {}  ",
    "\t{}\n",
    "{}?!",
    '"{}"',
    "«{}»",
    "¡{}!",
    "{}\u200b",  # zero-width space a keyboard left behind
    "\u00a0{}\u00a0",  # no-break spaces
    "{}...",
    "{} …",
]


@pytest.mark.parametrize(("body", "kind", "keyword", "language"), TABLE)
def test_keyword_table(
    body: str, kind: KeywordKind, keyword: str, language: Language | None
) -> None:
    assert classify(body) == KeywordMatch(kind=kind, keyword=keyword, language=language)


def test_table_covers_every_keyword() -> None:
    assert {keyword for _, _, keyword, _ in TABLE} == set(KEYWORDS)


@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
@pytest.mark.parametrize("dressing", DRESSINGS)
def test_every_keyword_with_spaces_punctuation_and_case(keyword: str, dressing: str) -> None:
    expected = KEYWORDS[keyword]
    for cased in (keyword, keyword.lower(), keyword.title()):
        assert classify(dressing.format(cased)) == expected


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("ＳＴＯＰ", "STOP"),  # full-width letters
        ("ARRE\u0302T", "ARRET"),  # a decomposed accent
        ("arrÈt", "ARRET"),
        ("DÈSABONNER", "DESABONNER"),
        ("Hilfé", "HILFE"),
    ],
)
def test_accents_and_compatibility_forms(body: str, keyword: str) -> None:
    assert classify(body).keyword == keyword


@pytest.mark.parametrize(
    "body",
    [
        "stop by the port tomorrow",
        "STOP PLEASE",
        "please stop",
        "STOP ALL",
        "S T O P",
        "S.T.O.P",
        "stopping",
        "unsubscribe me",
        "cancel my booking",
        "Help me with my booking",
        "start time?",
        "Fine",  # Italian "end", but English "OK": left out on purpose
        "fine.",
        "Sì",
        "si",
        "oui",
        "ja",
        "no",
        "ok",
        "",
        "   ",
        "!!!",
        "🛑",
        "STOP🛑",
        "https://example.com/stop",
    ],
)
def test_not_keywords(body: str) -> None:
    assert classify(body) == KeywordMatch(kind=OTHER)


def test_keywords_are_listed_normalised() -> None:
    for keyword in KEYWORDS:
        assert normalise(keyword) == keyword
        assert keyword.isascii() and keyword.isalpha()


def test_twilio_defaults_are_all_there() -> None:
    twilio = {
        OPT_OUT: {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"},
        OPT_IN: {"START", "YES", "UNSTOP"},
        HELP: {"HELP", "INFO"},
    }
    for kind, words in twilio.items():
        for word in words:
            assert KEYWORDS[word] == KeywordMatch(kind=kind, keyword=word, language=None)


def test_every_language_has_opt_out_and_help() -> None:
    for language in (IT, FR, DE):
        kinds = {match.kind for match in KEYWORDS.values() if match.language is language}
        assert {OPT_OUT, OPT_IN, HELP} <= kinds


# Replies

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.mark.parametrize("kind", [OPT_OUT, OPT_IN, HELP])
@pytest.mark.parametrize("language", list(Language))
def test_replies_fit_one_plain_sms(kind: KeywordKind, language: Language) -> None:
    text = reply_text(kind, language)
    assert text is not None and text.startswith("Moby")
    assert len(text) <= 160
    assert set(text) <= set(GSM7_BASIC), set(text) - set(GSM7_BASIC)
    if kind is OPT_OUT:
        assert "START" in text
    else:
        assert "STOP" in text


def test_replies_differ_by_language_and_take_the_brand() -> None:
    texts = {reply_text(OPT_OUT, language) for language in Language}
    assert len(texts) == len(Language)
    assert reply_text(HELP, EN, brand="Moby Lines") == (
        "Moby Lines: travel offers by SMS. Reply STOP to opt out, START to rejoin."
    )


def test_no_reply_to_other_messages() -> None:
    assert reply_text(OTHER, EN) is None
    assert reply_for(classify("see you at the port"), EN) is None


def test_reply_language() -> None:
    assert reply_for(classify("Arrêt"), IT) == reply_text(OPT_OUT, FR)  # the keyword's own
    assert reply_for(classify("STOP"), DE) == reply_text(OPT_OUT, DE)  # the customer's
    assert reply_for(classify("help")) == reply_text(HELP, DEFAULT_REPLY_LANGUAGE)
