"""Every text of the review screen, in English, Norwegian (bokmål) and Swedish: one catalogue.

A page reads its texts as `t.KEY` (or `t["KEY"]`); a test checks that every key has all
three languages. Reasons, rules in plain words and hints come from the matcher in the same
language (`matcher.texts`); only the screen's own labels are here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from lender_rules.vocabulary import LANGUAGES, Language

CATALOGUE: Final[Mapping[str, Mapping[Language, str]]] = {
    # frame
    "app_title": {
        "en": "Manual review",
        "nb": "Manuell vurdering",
        "sv": "Manuell prövning",
    },
    "skip_to_content": {
        "en": "Skip to content",
        "nb": "Gå til innholdet",
        "sv": "Hoppa till innehållet",
    },
    "language": {"en": "Language", "nb": "Språk", "sv": "Språk"},
    "change_language": {"en": "Change", "nb": "Bytt", "sv": "Byt"},
    "signed_in_as": {"en": "Signed in as", "nb": "Logget inn som", "sv": "Inloggad som"},
    "role_caseworker": {"en": "caseworker", "nb": "saksbehandler", "sv": "handläggare"},
    "role_supervisor": {"en": "supervisor", "nb": "leder", "sv": "arbetsledare"},
    "sign_out": {"en": "Sign out", "nb": "Logg ut", "sv": "Logga ut"},
    # sign-in
    "sign_in": {"en": "Sign in", "nb": "Logg inn", "sv": "Logga in"},
    "user_name": {"en": "User name", "nb": "Brukernavn", "sv": "Användarnamn"},
    "password": {"en": "Password", "nb": "Passord", "sv": "Lösenord"},
    "sign_in_failed": {
        "en": "The user name or password is wrong.",
        "nb": "Brukernavnet eller passordet er feil.",
        "sv": "Användarnamnet eller lösenordet är fel.",
    },
    "sign_in_locked": {
        "en": "Too many wrong passwords for this user name. Try again in {minutes} min.",
        "nb": "For mange feil passord for dette brukernavnet. Prøv igjen om {minutes} min.",
        "sv": "För många fel lösenord för det här användarnamnet. Försök igen om {minutes} min.",
    },
    "signed_out": {
        "en": "You are signed out.",
        "nb": "Du er logget ut.",
        "sv": "Du är utloggad.",
    },
    # refusals
    "forbidden": {"en": "Not allowed", "nb": "Ikke tillatt", "sv": "Inte tillåtet"},
    "forbidden_csrf": {
        "en": "The form has expired or did not come from this screen. Go back, reload the "
        "page and try again.",
        "nb": "Skjemaet er utløpt eller kom ikke fra denne skjermen. Gå tilbake, last siden "
        "på nytt og prøv igjen.",
        "sv": "Formuläret har gått ut eller kom inte från den här skärmen. Gå tillbaka, ladda "
        "om sidan och försök igen.",
    },
    "forbidden_role": {
        "en": "Your role may not do this. Ask a supervisor.",
        "nb": "Rollen din kan ikke gjøre dette. Spør en leder.",
        "sv": "Din roll får inte göra detta. Fråga en arbetsledare.",
    },
    "back_to_queue": {
        "en": "Back to the queue",
        "nb": "Tilbake til køen",
        "sv": "Tillbaka till kön",
    },
    # queue
    "queue": {"en": "Review queue", "nb": "Vurderingskø", "sv": "Prövningskö"},
    "filters": {"en": "Filter", "nb": "Filter", "sv": "Filter"},
    "apply_filters": {"en": "Show", "nb": "Vis", "sv": "Visa"},
    "any": {"en": "Any", "nb": "Alle", "sv": "Alla"},
    "lender": {"en": "Lender", "nb": "Långiver", "sv": "Långivare"},
    "lenders": {
        "en": "Lenders contested",
        "nb": "Bestridte långivere",
        "sv": "Bestridda långivare",
    },
    "status": {"en": "Status", "nb": "Status", "sv": "Status"},
    "market": {"en": "Market", "nb": "Marked", "sv": "Marknad"},
    "due_before": {"en": "Due before", "nb": "Frist før", "sv": "Förfaller före"},
    "due": {"en": "Due", "nb": "Frist", "sv": "Förfaller"},
    "received": {"en": "Received", "nb": "Mottatt", "sv": "Mottagen"},
    "request": {"en": "Request", "nb": "Forespørsel", "sv": "Begäran"},
    "assignee": {"en": "Assigned to", "nb": "Tildelt", "sv": "Tilldelad"},
    "unassigned": {"en": "Nobody", "nb": "Ingen", "sv": "Ingen"},
    "assign_to_me": {"en": "Assign to me", "nb": "Tildel meg", "sv": "Tilldela mig"},
    "reassign": {"en": "Reassign", "nb": "Tildel på nytt", "sv": "Tilldela om"},
    "reassign_to": {"en": "Reassign to", "nb": "Tildel til", "sv": "Tilldela till"},
    "overdue": {"en": "Overdue", "nb": "Over fristen", "sv": "Försenad"},
    "due_soon": {
        "en": "Due within 3 days",
        "nb": "Frist innen 3 dager",
        "sv": "Förfaller inom 3 dagar",
    },
    "no_cases": {
        "en": "No request matches.",
        "nb": "Ingen forespørsler passer.",
        "sv": "Ingen begäran matchar.",
    },
    "page_of": {
        "en": "Page {page} of {pages}",
        "nb": "Side {page} av {pages}",
        "sv": "Sida {page} av {pages}",
    },
    "previous": {"en": "Previous page", "nb": "Forrige side", "sv": "Föregående sida"},
    "next": {"en": "Next page", "nb": "Neste side", "sv": "Nästa sida"},
    "open": {"en": "Open", "nb": "Åpne", "sv": "Öppna"},
    "status_received": {"en": "Received", "nb": "Mottatt", "sv": "Mottagen"},
    "status_in_review": {"en": "In review", "nb": "Under vurdering", "sv": "Under prövning"},
    "status_extended": {"en": "Extended", "nb": "Forlenget", "sv": "Förlängd"},
    "status_decided": {"en": "Decided", "nb": "Avgjort", "sv": "Avgjord"},
    "status_withdrawn": {"en": "Withdrawn", "nb": "Trukket tilbake", "sv": "Återkallad"},
    "withdrawn_because": {
        "en": "Withdrawn because",
        "nb": "Trukket tilbake fordi",
        "sv": "Återkallad eftersom",
    },
    "withdrawn_erasure": {
        "en": "the application was erased at the applicant's request.",
        "nb": "søknaden ble slettet etter søkerens ønske.",
        "sv": "ansökan raderades på sökandens begäran.",
    },
    "withdrawn_retention": {
        "en": "the retention period ended.",
        "nb": "oppbevaringstiden er ute.",
        "sv": "lagringstiden har löpt ut.",
    },
    "withdrawn_notice": {
        "en": "This request was withdrawn and is read-only:",
        "nb": "Denne forespørselen er trukket tilbake og kan bare leses:",
        "sv": "Denna begäran har återkallats och kan bara läsas:",
    },
    "withdrawn_no_action": {
        "en": "The request was withdrawn; it can no longer be assigned, extended or decided.",
        "nb": (
            "Forespørselen er trukket tilbake; den kan ikke lenger tildeles, forlenges eller "
            "avgjøres."
        ),
        "sv": "Begäran har återkallats; den kan inte längre tilldelas, förlängas eller avgöras.",
    },
    # case page
    "case": {"en": "Case", "nb": "Sak", "sv": "Ärende"},
    "application": {"en": "Application", "nb": "Søknad", "sv": "Ansökan"},
    "personal_data": {"en": "Personal data", "nb": "Personopplysninger", "sv": "Personuppgifter"},
    "erased": {
        "en": "The personal data was erased.",
        "nb": "Personopplysningene er slettet.",
        "sv": "Personuppgifterna har raderats.",
    },
    "feature": {"en": "Value", "nb": "Verdi", "sv": "Värde"},
    "applicant_value": {"en": "Applicant's value", "nb": "Søkerens verdi", "sv": "Sökandens värde"},
    "claimed_value": {
        "en": "Claimed correction",
        "nb": "Påstått rettelse",
        "sv": "Påstådd rättelse",
    },
    "ruleset": {"en": "Ruleset version", "nb": "Regelsettversjon", "sv": "Regelverksversion"},
    "automated_decision": {
        "en": "Automated decision",
        "nb": "Automatisk avgjørelse",
        "sv": "Automatiskt beslut",
    },
    "statement": {
        "en": "Applicant's statement",
        "nb": "Søkerens uttalelse",
        "sv": "Sökandens yttrande",
    },
    "applicant_language": {
        "en": "Applicant's language",
        "nb": "Søkerens språk",
        "sv": "Sökandens språk",
    },
    "outcomes": {"en": "Lenders' outcomes", "nb": "Långivernes utfall", "sv": "Långivarnas utfall"},
    "eligible": {"en": "Eligible", "nb": "Godkjent", "sv": "Godkänd"},
    "not_eligible": {"en": "Not eligible", "nb": "Ikke godkjent", "sv": "Inte godkänd"},
    "contested": {"en": "contested", "nb": "bestridt", "sv": "bestridd"},
    "reason": {"en": "Reason", "nb": "Begrunnelse", "sv": "Skäl"},
    "rule": {"en": "Rule", "nb": "Regel", "sv": "Regel"},
    "values": {"en": "Applicant's values", "nb": "Søkerens verdier", "sv": "Sökandens värden"},
    "threshold": {"en": "Threshold", "nb": "Grense", "sv": "Gräns"},
    "hint": {"en": "What would pass", "nb": "Hva som ville gått", "sv": "Vad som skulle gå"},
    "history": {"en": "Case history", "nb": "Sakshistorikk", "sv": "Ärendehistorik"},
    "views": {
        "en": "Who viewed this case",
        "nb": "Hvem har sett saken",
        "sv": "Vem har sett ärendet",
    },
    "when": {"en": "When", "nb": "Når", "sv": "När"},
    "who": {"en": "Who", "nb": "Hvem", "sv": "Vem"},
    "what": {"en": "What", "nb": "Hva", "sv": "Vad"},
    # what-if
    "what_if": {"en": "What if", "nb": "Hva om", "sv": "Tänk om"},
    "what_if_help": {
        "en": "Enter corrected values (prefilled with the applicant's claims) to see every "
        "lender's outcome under the same ruleset.",
        "nb": "Skriv inn rettede verdier (forhåndsutfylt med søkerens påstander) for å se "
        "hver långivers utfall under samme regelsett.",
        "sv": "Ange rättade värden (ifyllda med sökandens påståenden) för att se varje "
        "långivares utfall under samma regelverk.",
    },
    "try_values": {
        "en": "Try these values",
        "nb": "Prøv disse verdiene",
        "sv": "Pröva dessa värden",
    },
    "what_if_result": {
        "en": "Outcomes with these values",
        "nb": "Utfall med disse verdiene",
        "sv": "Utfall med dessa värden",
    },
    # decision
    "decision": {"en": "Decision", "nb": "Avgjørelse", "sv": "Beslut"},
    "verdict": {"en": "Verdict", "nb": "Avgjørelse", "sv": "Beslut"},
    "uphold": {
        "en": "Uphold the rejection",
        "nb": "Opprettholde avslaget",
        "sv": "Fastställa avslaget",
    },
    "override": {
        "en": "Override: eligible for this lender",
        "nb": "Omgjøre: godkjent for denne långiveren",
        "sv": "Ändra: godkänd för denna långivare",
    },
    "explanation": {
        "en": "Explanation for the applicant (in the applicant's language)",
        "nb": "Forklaring til søkeren (på søkerens språk)",
        "sv": "Förklaring till sökanden (på sökandens språk)",
    },
    "note": {"en": "Internal note", "nb": "Internt notat", "sv": "Intern anteckning"},
    "review_decision": {
        "en": "Review the decision",
        "nb": "Se over avgjørelsen",
        "sv": "Granska beslutet",
    },
    "confirm_title": {
        "en": "Confirm the decision: once submitted it is final",
        "nb": "Bekreft avgjørelsen: når den er sendt, er den endelig",
        "sv": "Bekräfta beslutet: när det har skickats är det slutgiltigt",
    },
    "confirm": {"en": "Confirm and submit", "nb": "Bekreft og send", "sv": "Bekräfta och skicka"},
    "change": {"en": "Change", "nb": "Endre", "sv": "Ändra"},
    "decided_by": {"en": "Decided by", "nb": "Avgjort av", "sv": "Avgjort av"},
    "already_decided": {
        "en": "This case was already decided by {by} at {at}.",
        "nb": "Denne saken ble allerede avgjort av {by} {at}.",
        "sv": "Detta ärende avgjordes redan av {by} {at}.",
    },
    "corrected_values": {
        "en": "Corrected values used",
        "nb": "Rettede verdier brukt",
        "sv": "Rättade värden som användes",
    },
    "required": {"en": "required", "nb": "påkrevd", "sv": "obligatoriskt"},
    "missing_explanation": {
        "en": "Write an explanation for the applicant for every lender.",
        "nb": "Skriv en forklaring til søkeren for hver långiver.",
        "sv": "Skriv en förklaring till sökanden för varje långivare.",
    },
    # extension
    "extend": {"en": "Extend the deadline", "nb": "Forleng fristen", "sv": "Förläng tidsfristen"},
    "extend_failed": {
        "en": "The deadline was not extended: give 1 or 2 months and a reason (once a case).",
        "nb": "Fristen ble ikke forlenget: oppgi 1 eller 2 måneder og en grunn (én gang).",
        "sv": "Tidsfristen förlängdes inte: ange 1 eller 2 månader och ett skäl (en gång).",
    },
    "months": {"en": "Months", "nb": "Måneder", "sv": "Månader"},
    "extension_reason": {
        "en": "Reason (the applicant sees it)",
        "nb": "Begrunnelse (søkeren ser den)",
        "sv": "Skäl (sökanden ser det)",
    },
    "extended_because": {
        "en": "Extended because",
        "nb": "Forlenget fordi",
        "sv": "Förlängd eftersom",
    },
}

__all__ = ["CATALOGUE", "Texts", "texts"]


class Texts:
    """The screen's texts in one language: `t.sign_in`, `t["sign_in"]`, `t.format(key, ...)`."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def __getitem__(self, key: str) -> str:
        return CATALOGUE[key][self.language]

    def __getattr__(self, key: str) -> str:
        try:
            return CATALOGUE[key][self.language]
        except KeyError:
            raise AttributeError(key) from None

    def format(self, key: str, **values: object) -> str:
        """The text `key` with its `{name}` placeholders filled."""
        return self[key].format(**values)


_TEXTS = {language: Texts(language) for language in LANGUAGES}


def texts(language: Language) -> Texts:
    """The screen's texts in `language`."""
    return _TEXTS[language]
