"""The two reference cases of the seed articles, as demo data.

Everything here is what the articles in cooperation/data/seeds/ report, at
the precision they give: a season stays a season, a plan stays a plan, an
unknown cost stays unknown. The articles as we have them carry no URL, so
the sources have none; their publisher is given only where the text names it.
Each event has a fixed uid, so loading twice changes nothing.
"""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction

from . import services
from .models import Agreement, Event, Municipality, Partnership, Person, Pillar, Source

MAASTRICHT, SITTARD_GELEEN = "GM0935", "GM1883"
SCHIEDAM, VLAARDINGEN, MAASSLUIS = "GM0606", "GM0622", "GM0556"

SOURCES = {
    "msg": {
        "title": "ICT-samenwerking Maastricht en Sittard-Geleen",
        "publisher": "Gemeente Sittard-Geleen",
        "published_on": datetime.date(2010, 10, 27),
        "kind": Source.Kind.PRESS_RELEASE,
    },
    "svm": {
        "title": "Schiedam ziet af van ICT-samenwerking met Vlaardingen",
        "author": "Kor Kegel",
        "published_on": datetime.date(2019, 5, 8),
        "kind": Source.Kind.NEWS_ARTICLE,
    },
}

PARTNERSHIPS = [
    {
        "slug": "maastricht-sittard-geleen-ict",
        "name": "ICT-samenwerking Maastricht en Sittard-Geleen",
        "legal_form": Partnership.LegalForm.COVENANT,
        "summary": (
            "Maastricht en Sittard-Geleen werken samen op het gebied van ICT en digitale dienstverlening, "
            "op vier terreinen: kennis en kunde delen, het gelijktrekken van de ICT-architectuur, samen "
            "inkopen en aanbesteden, en samen de dienstverlening moderniseren. Volgens wethouder Pieter "
            "Meekels van Sittard-Geleen is de samenwerking een eerste stap op weg naar een regionaal bedrijf "
            "voor ICT en dienstverlening."
        ),
        "pillars": [
            "knowledge_sharing",
            "architecture_alignment",
            "joint_procurement",
            "service_modernisation",
        ],
        "source": "msg",
        "agreements": {
            "agreement": {
                "kind": Agreement.Kind.COOPERATION_AGREEMENT,
                "title": "Samenwerkingsovereenkomst ICT en dienstverlening",
                "date_text": "2010-10-27",
                "description": (
                    "Ondertekend door de wethouders van beide gemeenten. Het persbericht noemt het document "
                    "ook een intentieverklaring."
                ),
            },
            # Intended only: the article says a framework contract for the coming four years would be
            # tendered; no source says it was signed, so it has no date and its state is "planned".
            "framework": {
                "kind": Agreement.Kind.FRAMEWORK_CONTRACT,
                "title": "Mantelovereenkomst computerapparatuur, software en implementatie",
                "date_text": "",
                "term_note": "vier jaar",
                "description": (
                    "Voorgenomen mantelovereenkomst voor de aanschaf van computerapparatuur, software en de "
                    "implementatie ervan voor de komende vier jaar, via een gezamenlijke Europese aanbesteding."
                ),
            },
        },
        "events": [
            {
                # A precursor, not the start of this partnership: the agreement of 2010 is.
                "key": "cooperation-started",
                "kind": Event.Kind.OTHER,
                "date_text": "2009-10",
                "municipalities": [MAASTRICHT, SITTARD_GELEEN],
                "pillar": "joint_procurement",
                "title": "Voorafgaande samenwerking bij de inhuur van ICT-dienstverleners",
                "description": (
                    "Eerdere samenwerking op het gebied van de inhuur van ICT-dienstverleners; volgens de "
                    "gemeenten een goed fundament voor de intensivering van de samenwerking die de overeenkomst "
                    "van 2010 vastlegt."
                ),
            },
            {
                "key": "signed",
                "kind": Event.Kind.SIGNED,
                "date_text": "2010-10-27",
                "municipalities": [MAASTRICHT, SITTARD_GELEEN],
                "agreement": "agreement",
                # The article names who signed (the participants), not who decided.
                "title": "Samenwerkingsovereenkomst ICT en dienstverlening ondertekend",
                "description": (
                    "De gemeenten gaan samenwerken op het gebied van digitale dienstverlening, op vier "
                    "terreinen: kennis en kunde delen, het gelijktrekken van de ICT-architectuur (identieke "
                    "hard- en software), samen inkopen en aanbesteden, en samen de dienstverlening "
                    "moderniseren op basis van de landelijke ontwikkelingen."
                ),
                "reason": (
                    "De ICT-dienstverlening en ICT-kwaliteit van beide gemeenten op een hoger plan brengen "
                    "tegen zo laag mogelijke kosten, en beter voorbereid zijn op landelijke ontwikkelingen."
                ),
                "participants": [
                    ("Jim Janssen", "alderman", MAASTRICHT, ""),
                    ("Pieter Meekels", "alderman", SITTARD_GELEEN, ""),
                ],
            },
            {
                "key": "tender",
                "kind": Event.Kind.TENDER_LAUNCHED,
                "status": Event.Status.PLANNED,
                "date_text": "2010-12~",
                "municipalities": [MAASTRICHT, SITTARD_GELEEN],
                "pillar": "joint_procurement",
                "agreement": "framework",
                "title": "Gezamenlijke Europese aanbesteding voor een mantelovereenkomst",
                "description": (
                    "Eind 2010 zouden beide gemeenten een gezamenlijke Europese aanbesteding starten voor een "
                    "mantelovereenkomst voor de aanschaf van computerapparatuur, software en de implementatie "
                    "ervan voor de komende vier jaar."
                ),
                "reason": (
                    "Verwachte kostenreductie door schaalvoordelen en lagere beheerkosten, als bijdrage aan "
                    "de gemeentelijke bezuinigingsoperaties."
                ),
                "cost_note": "Kostenreductie verwacht; geen bedrag genoemd",
            },
            {
                "key": "regional-company",
                "kind": Event.Kind.OTHER,
                "status": Event.Status.PLANNED,
                "date_text": "",
                "municipalities": [MAASTRICHT, SITTARD_GELEEN],
                "proposed_by": "wethouder Pieter Meekels (Sittard-Geleen)",
                "title": "Een regionaal bedrijf voor ICT en dienstverlening",
                "description": (
                    "Volgens wethouder Pieter Meekels is de samenwerking een eerste stap op weg naar een "
                    "regionaal bedrijf dat ICT en dienstverlening voor gemeenten kan verzorgen: „Als we dat "
                    "regionaal bedrijf oprichten, dan kunnen nog meer gemeenten profiteren van de (financiële) "
                    "voordelen van samenwerken.”"
                ),
                "participants": [
                    (
                        "Pieter Meekels",
                        "alderman",
                        SITTARD_GELEEN,
                        "noemt de samenwerking een eerste stap op weg naar dit bedrijf",
                    ),
                ],
            },
        ],
    },
    {
        "slug": "schiedam-vlaardingen-maassluis-ict",
        "name": "ICT-samenwerking Schiedam, Vlaardingen en Maassluis",
        "legal_form": Partnership.LegalForm.COVENANT,
        "summary": (
            "Samenwerking van Schiedam, Vlaardingen en Maassluis op het gebied van ICT, vastgelegd in de "
            "samenwerkingsovereenkomst ICT van 16 april 2013. Maassluis besloot in het najaar van 2016 "
            "zelfstandig te blijven; in 2019 besloot het college van Schiedam de overeenkomst op te zeggen."
        ),
        "pillars": ["architecture_alignment"],
        "source": "svm",
        "agreements": {
            "agreement": {
                "kind": Agreement.Kind.COOPERATION_AGREEMENT,
                "title": "Samenwerkingsovereenkomst ICT",
                "date_text": "2013-04-16",
            }
        },
        "events": [
            {
                "key": "signed",
                "kind": Event.Kind.SIGNED,
                "date_text": "2013-04-16",
                "municipalities": [SCHIEDAM, VLAARDINGEN, MAASSLUIS],
                "agreement": "agreement",
                "title": "Samenwerkingsovereenkomst ICT gesloten",
            },
            {
                "key": "maassluis-decides",
                "kind": Event.Kind.WITHDRAWAL_DECIDED,
                "date_text": "2016-23",
                "municipalities": [MAASSLUIS],
                "title": "Maassluis besluit op ICT-gebied zelfstandig te blijven",
                "reason": "Verschillen in uitgangspunten, draagvlak, urgentie en financiële middelen.",
            },
            {
                "key": "maassluis-disentangled",
                "kind": Event.Kind.DISENTANGLED,
                "date_text": "2017",
                "municipalities": [MAASSLUIS],
                "title": "ICT-omgeving van Maassluis ontvlochten",
                "description": (
                    "De ontvlechting van de ICT-omgeving van Maassluis met die van Vlaardingen en Schiedam "
                    "is technisch en organisatorisch gerealiseerd."
                ),
            },
            {
                "key": "study",
                "kind": Event.Kind.STUDY_COMMISSIONED,
                "date_text": "2017-04",
                "municipalities": [SCHIEDAM, VLAARDINGEN],
                "decided_by": Event.DecidedBy.TOWN_CLERKS,
                "title": "Nader onderzoek naar verdergaande integratie",
                "description": (
                    "De gemeentesecretarissen en de directies van Vlaardingen en Schiedam besluiten tot een "
                    "nader onderzoek naar verdergaande organisatorische integratie van ICT-beheer, hardware "
                    "en servicedesk."
                ),
            },
            {
                "key": "joint-organisation",
                "kind": Event.Kind.OTHER,
                "status": Event.Status.ABANDONED,
                "date_text": "2019",
                "municipalities": [SCHIEDAM, VLAARDINGEN],
                "title": "Eén gezamenlijke ICT-organisatie",
                "description": (
                    "Een gezamenlijke ICT-organisatie in de vorm van een gemeenschappelijke regeling of een "
                    "bedrijfsvoeringsorganisatie is van de baan. De integratie van de ICT-beheerteams van "
                    "Schiedam en Vlaardingen wordt niet voortgezet."
                ),
                "reason": (
                    "Schiedam en Vlaardingen werden het niet eens over uniforme werkprocessen en de "
                    "harmonisatie van het applicatielandschap (bescherming en opslag van digitale "
                    "informatie); voor het college van Schiedam was eensgezindheid daarover de belangrijkste "
                    "voorwaarde."
                ),
                "participants": [
                    ("Cor Lamers", "mayor", SCHIEDAM, "voorstander van optimale ambtelijke integratie"),
                ],
            },
            {
                "key": "termination-decided",
                "kind": Event.Kind.TERMINATION_DECIDED,
                "date_text": "2019",
                "municipalities": [SCHIEDAM],
                "agreement": "agreement",
                "decided_by": Event.DecidedBy.EXECUTIVE,
                "title": "Schiedam zegt de samenwerkingsovereenkomst ICT op",
                "reason": (
                    "Geen overeenstemming met Vlaardingen over uniforme werkprocessen en de harmonisatie van "
                    "het applicatielandschap."
                ),
            },
            {
                "key": "disentanglement",
                "kind": Event.Kind.DISENTANGLEMENT_STARTED,
                "status": Event.Status.PLANNED,
                "date_text": "",
                "municipalities": [SCHIEDAM, VLAARDINGEN],
                "title": "Ontvlechting van Schiedam en Vlaardingen",
                "description": "De op gang gezette samenwerking moet nu leiden tot ontvlechting.",
            },
            {
                "key": "costs",
                "kind": Event.Kind.COSTS_SETTLED,
                "status": Event.Status.PLANNED,
                "date_text": "",
                "municipalities": [SCHIEDAM, VLAARDINGEN],
                "title": "Verrekening van de ontvlechtingskosten",
                "cost_note": (
                    "Nog te bepalen; de kosten voor Schiedam hangen mede af van afspraken over de verrekening "
                    "met Vlaardingen."
                ),
            },
        ],
    },
]


def demo_uid(slug: str, key: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://ict-samenwerking.example/demo/{slug}/{key}")


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Create whatever of the seed cases is missing; returns counts of what was created."""
    created = {"partnerships": 0, "events": 0}
    municipalities = Municipality.objects.in_bulk(
        [code for p in PARTNERSHIPS for e in p["events"] for code in e["municipalities"]], field_name="cbs_code"
    )
    pillars = Pillar.objects.in_bulk(field_name="code")
    for spec in PARTNERSHIPS:
        partnership = Partnership.objects.filter(slug=spec["slug"]).first()
        if partnership is None:
            partnership = Partnership(
                slug=spec["slug"], name=spec["name"], legal_form=spec["legal_form"], summary=spec["summary"]
            )
            chosen = [pillars[code] for code in spec["pillars"]]
            services.partnership_save(
                partnership=partnership, save_links=lambda p=partnership, c=chosen: p.pillars.set(c)
            )
            created["partnerships"] += 1
        source_values = SOURCES[spec["source"]]
        source = Source.objects.filter(title=source_values["title"]).first() or services.source_save(
            source=Source(**source_values)
        )
        agreements = {
            key: Agreement.objects.filter(partnership=partnership, title=values["title"]).first()
            or services.agreement_save(agreement=Agreement(partnership=partnership, **values))
            for key, values in spec["agreements"].items()
        }
        for event_spec in spec["events"]:
            uid = demo_uid(spec["slug"], event_spec["key"])
            if Event.objects.filter(uid=uid).exists():
                continue
            participants = [
                (Person.objects.get_or_create(name=name)[0], role, municipalities[code], note)
                for name, role, code, note in event_spec.get("participants", [])
            ]
            services.event_record(
                uid=uid,
                partnership=partnership,
                kind=event_spec["kind"],
                status=event_spec.get("status", Event.Status.HAPPENED),
                date_text=event_spec["date_text"],
                municipalities=[municipalities[code] for code in event_spec["municipalities"]],
                title=event_spec.get("title", ""),
                description=event_spec.get("description", ""),
                reason=event_spec.get("reason", ""),
                cost_note=event_spec.get("cost_note", ""),
                decided_by=event_spec.get("decided_by", ""),
                proposed_by=event_spec.get("proposed_by", ""),
                pillar=pillars.get(event_spec.get("pillar", "")),
                agreement=agreements.get(event_spec.get("agreement", "")),
                sources=[source],
                participants=participants,
            )
            created["events"] += 1
    return created
