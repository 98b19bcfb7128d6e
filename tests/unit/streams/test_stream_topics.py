"""What a post talks about: topics in each language, and the ports, routes and islands
it names."""

from __future__ import annotations

import pytest

from simulators.ports import PORTS
from simulators.routes import all_routes
from streams.features.topics import Places, Topic, places, topics

# Per topic and language: a post about it, and a post that is not (often close to it).
CASES: dict[Topic, dict[str, tuple[str, str]]] = {
    Topic.ROUTE: {
        "it": ("Sulla Piombino-Portoferraio ogni ora una corsa", "Nave pulita e puntuale"),
        "en": ("Which route is quicker to Sardinia?", "Lovely crew, great trip"),
        "fr": ("La ligne de Livourne à Bastia est superbe", "Merci pour le voyage"),
        "de": ("Die Strecke Genua–Olbia lohnt sich", "Nette Crew, tolles Schiff"),
    },
    Topic.PORT: {
        "it": ("Due ore di coda al porto", "Cabina comoda e pulita"),
        "en": ("Waited an hour at the harbour", "Cabin was comfortable"),
        "fr": ("Attente interminable sur le quai", "Cabine confortable"),
        "de": ("Stundenlang im Hafen gewartet", "Die Kabine war bequem"),
    },
    Topic.DELAY: {
        "it": ("Tre ore di ritardo, vergogna", "Partiti in perfetto orario"),
        "en": ("Sailing cancelled again", "Right on time as usual"),
        "fr": ("Deux heures de retard au départ", "Toujours à l'heure"),
        "de": ("Zwei Stunden Verspätung", "Wie immer pünktlich"),
    },
    Topic.PRICE: {
        "it": ("Prezzi assurdi ad agosto", "Personale gentilissimo"),
        "en": ("Way too expensive for a family", "Smooth crossing"),
        "fr": ("Des prix délirants", "Traversée parfaite"),
        "de": ("Völlig überteuert, das ist Abzocke", "Entspannte Überfahrt"),
    },
    Topic.ONBOARD: {
        "it": ("Cabina sporca e bagni rotti", "Arrivati a Olbia"),
        "en": ("Dirty cabin and rude staff", "Arrived in Olbia"),
        "fr": ("Équipage adorable et cabine propre", "Arrivés à Bastia"),
        "de": ("Schmutzige Kabine und unfreundliches Personal", "In Bastia angekommen"),
    },
    Topic.FAMILY: {
        "it": ("Sconti per famiglie?", "Sconti per studenti?"),
        "en": ("Travelling with the kids", "Travelling with friends"),
        "fr": ("Réductions famille ?", "Réductions étudiants ?"),
        "de": ("Gibt es Familienrabatt?", "Gibt es Studentenrabatt?"),
    },
    Topic.CAR: {
        "it": ("Imbarco dell'auto velocissimo", "Imbarco a piedi velocissimo"),
        "en": ("Driving the car onto the car deck", "Walking on as foot passengers"),
        "fr": ("Embarquement de la voiture rapide", "Embarquement à pied rapide"),
        "de": ("Mit dem Wohnmobil nach Sardinien", "Zu Fuß an Bord gegangen"),
    },
}


@pytest.mark.parametrize(
    ("topic", "language"),
    [(topic, language) for topic, by_language in CASES.items() for language in by_language],
)
def test_each_topic_in_each_language(topic: Topic, language: str) -> None:
    about, other = CASES[topic][language]
    assert topic in topics(about, language), about
    assert topic not in topics(other, language), other


def test_topics_are_the_fixed_set() -> None:
    found = topics("Ritardo di due ore sulla Livorno-Olbia, prezzi assurdi", "it")
    assert found == frozenset({"delay", "route", "port", "price"})
    assert found <= {topic.value for topic in Topic}
    assert topics("", "it") == frozenset()


def test_hashtags_count() -> None:
    assert "family" in topics("Si parte!", "it", ("#famiglia", "#mare"))
    assert "delay" in topics("Ancora qui", "it", ["#ritardo"])


def test_words_not_parts_of_words() -> None:
    assert "car" not in topics("Scary crossing, carefully planned", "en")
    assert "port" not in topics("Forgot my passport, airport chaos", "en")
    assert "delay" not in topics("Chocolate cake on board", "en")
    assert "car" not in topics("Nur eine automatische Antwort", "de")
    assert "family" not in topics("Unfamiliar ship", "en")


def test_currency_signs_are_prices() -> None:
    assert "price" in topics("180€ per un passaggio ponte?", "it")
    assert "price" in topics("£400 one way", "en")


def test_accents_and_capitals() -> None:
    assert "onboard" in topics("PETIT-DÉJEUNER COPIEUX", "fr")
    assert "delay" in topics("VERSPÄTUNG!!", "de")
    assert "price" in topics("Trop chère", "fr")


def test_other_languages_use_the_english_words() -> None:
    assert topics("Three hours late", "es") == frozenset({"delay"})


def test_ports_by_name_in_each_language() -> None:
    assert places("Départ de Livourne").ports == ("LIV",)
    assert places("Ankunft in Genua").ports == ("GOA",)
    assert places("Arrivée à Gênes").ports == ("GOA",)
    assert places("Partenza da Genova").ports == ("GOA",)
    assert places("Leaving Genoa").ports == ("GOA",)
    assert places("golfo aranci, poi SANTA TERESA").ports == ("GAR", "STE")
    assert places("Bonifacio, Cagliari, Arbatax, Portoferraio").ports == (
        "BON",
        "CAG",
        "ARB",
        "PFE",
    )


def test_every_port_of_the_simulator_is_found_by_its_name() -> None:
    for port in PORTS:
        assert places(f"Siamo a {port.name} oggi").ports == (port.code,)


def test_routes_named_in_each_language() -> None:
    assert places("Ritardo sulla Livorno-Olbia").routes == ("LIV-OLB",)
    assert places("from Genoa to Porto Torres overnight").routes == ("GOA-PTO",)
    assert places("la traversée Bonifacio - Santa Teresa").routes == ("BON-STE",)
    assert places("de Livourne à Bastia").routes == ("LIV-BAS",)
    assert places("von Civitavecchia nach Cagliari").routes == ("CIV-CAG",)
    assert places("Strecke Genua–Olbia").routes == ("GOA-OLB",)
    assert places("Rebooked to LIV-OLB").routes == ("LIV-OLB",)


def test_every_simulated_route_is_found() -> None:
    for route in all_routes():
        origin = next(p.name for p in PORTS if p.code == route.origin)
        destination = next(p.name for p in PORTS if p.code == route.destination)
        assert places(f"Traghetto {origin}-{destination} prenotato").routes == (route.route_id,)


def test_no_route_between_ports_without_a_service_or_far_apart() -> None:
    found = places("Livorno-Cagliari")
    assert found.ports == ("LIV", "CAG") and found.routes == ()
    far = places("Livorno is lovely, and a week later we sailed on to Olbia")
    assert far.ports == ("LIV", "OLB") and far.routes == ()
    assert places("nothing here") == Places()


def test_islands_in_each_language() -> None:
    assert places("In Sardegna e poi in Corsica").islands == ("sardinia", "corsica")
    assert places("Sardaigne", ["#corse"]).islands == ("sardinia", "corsica")
    assert places("Nach Sardinien und Korsika").islands == ("sardinia", "corsica")
    assert places("De retour en Elbe", language="fr").islands == ("elba",)
    assert places("Vacances à l'île d’Elbe", language="fr").islands == ("elba",)
    assert places("Urlaub an der Elbe in Hamburg", language="de").islands == ()
    assert places("Ferry to Elba", ["#isoladelba"]).islands == ("elba",)
