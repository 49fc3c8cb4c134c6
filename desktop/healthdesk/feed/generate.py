"""Realistic demo connections, written as a feed (README, "Snapshot files").

`generate_items` yields the items of three connections (HubSpot ⇄ Mailchimp, the one-way
Salesforce → HubSpot, and Pipedrive ⇄ Mailchimp, locked by the second) with the mess real
CRMs hold: duplicates whose emails differ only in case or surrounding spaces, missing and
mistyped emails, hostile names, deleted records, removed mappings, upserts, and weeks of
event history with the destination apps' raw errors. Every status and reason of
the README's "What each status means" occurs.

Contract:
- Deterministic: the same `contacts` and `seed` give the same items (and, through
  `generate`, the same bytes). All randomness comes from `random.Random(seed)`, all times
  from BASE_TIME minus offsets; nothing iterates a set or depends on str hashing.
- Streaming: items are produced one by one; what is kept per connection is a few compact
  arrays per contact (ids, times, a packed event plan) and bounded counters.
- `contacts` is the number of visible contacts (a mapped pair counts once; an unmapped
  record of the target side of the one-way connection, or one deleted before it was
  ever mapped, not at all); the result is within a few per cent of it (a removed mapping
  turns one pair into two contacts). `GenerateResult.contacts` is the exact number.

Feed order per connection: the connection item, records (each unit of one or two records
in creation order), mappings, removed mappings, later versions of changed records
(upserts), then events in time order with seq 1, 2, 3...

The rule sets below and the field builders (`_hubspot_fields` and friends) are written
for each other: a builder asked for a matching record produces one that the rules of its
connection accept, so each unit lands in the status it was generated for.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import random
import unicodedata
from array import array
from bisect import bisect
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any, Final

from healthdesk.feed.snapshot import write_snapshot

__all__ = ["BASE_TIME", "GenerateResult", "generate", "generate_items"]

#: The "now" of every generated feed: all times are this minus offsets.
BASE_TIME: Final = "2026-11-20T10:00:00Z"
_BASE: Final = int(datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC).timestamp())

MINUTE: Final = 60
HOUR: Final = 3600
DAY: Final = 86400
#: How far back the oldest record was created.
_HISTORY: Final = 400 * DAY


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """What `generate` wrote: the file, its visible contacts, items and connection ids."""

    path: Path
    contacts: int
    items: int
    connections: tuple[str, ...]


def generate_items(*, contacts: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield the feed items (no header) of the demo connections, in feed order."""
    return _Demo(contacts=contacts, seed=seed).items()


def generate(
    path: Path | str, *, contacts: int, seed: int, compress: bool = True
) -> GenerateResult:
    """Write a snapshot of `generate_items(contacts=..., seed=...)` to `path`."""
    target = Path(path)
    demo = _Demo(contacts=contacts, seed=seed)
    written = write_snapshot(target, demo.items(), exported_at=BASE_TIME, compress=compress)
    return GenerateResult(
        path=target,
        contacts=demo.visible,
        items=written,
        connections=demo.connection_ids,
    )


# --------------------------------------------------------------------------- people

_FIRST_NAMES: Final = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "George",
    "Deborah", "Timothy", "Stephanie", "Ada", "Grace", "Alan", "Zoë", "Zoe", "Chloé", "Chloe",
    "Renée", "Noémie", "Inès", "Hélène", "François", "Jérôme", "Amélie", "Benoît", "Gaël",
    "Anaïs", "Léa", "Maël", "José", "María", "Jesús", "Sofía", "Lucía", "Martín", "Andrés",
    "Ramón", "Íñigo", "Begoña", "João", "Conceição", "Gonçalo", "Inês", "Luís", "Björn",
    "Søren", "Åsa", "Jörg", "Jürgen", "Günther", "Käthe", "Łukasz", "Małgorzata", "Paweł",
    "Wojciech", "Agnieszka", "Zbigniew", "Krzysztof", "Katarzyna", "Jiří", "Tomáš", "Zoltán",
    "Ágnes", "Mihály", "Ștefan", "Ioana", "Çağla", "Şule", "Mehmet", "Ayşe", "Emre", "Oğuz",
    "Dmitri", "Olga", "Sergei", "Natalia", "Yuki", "Haruto", "Sakura", "Kenji", "Min-jun",
    "Ji-woo", "Seo-yeon", "Wei", "Jing", "Aarav", "Priya", "Ananya", "Rohan", "Arjun", "Divya",
    "Mohammed", "Fatima", "Omar", "Aisha", "Youssef", "Layla", "Chidi", "Ngozi", "Kwame", "Ama",
    "Thabo", "Zanele", "Siobhán", "Seán", "Niamh", "Aoife", "Oisín", "Eoin", "Saoirse",
    "Sigríður", "Þóra", "Bjørn", "Øystein", "Ingrid", "Astrid", "Freya", "Nils", "Lars",
    "Henrik", "Mikael", "Elif", "Giulia", "Niccolò", "Lorenzo", "Chiara", "Francesca", "Matteo",
    "Giorgos", "Eleni", "Dimitris", "Nikos", "Liam", "Noah", "Olivia", "Emma", "Ava",
    "Isabella", "Mia", "Ethan", "Lucas", "Mateo", "Camila", "Valentina", "Santiago", "Diego",
    "Ximena", "Thiago", "Gabriel", "Rafael", "Beatriz", "Tatiana", "Kate", "Jack", "Harry",
    "Oliver", "Amelia", "Isla", "Poppy", "Alfie", "Archie", "Jean-Luc", "Anne-Marie",
    "Marie-Claire", "Hans-Peter", "Nguyệt", "Thảo", "Minh", "Huy", "Rania", "Tariq", "Leila",
    "Ebru",
)  # fmt: skip
_FIRST_NAMES_WITH_SPACES: Final = ("Mary Ann", "Li Na", "Maria José", "Ana Lucía")

_LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "García", "Miller", "Davis",
    "Rodríguez", "Martínez", "Hernández", "López", "González", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Harris",
    "Sánchez", "Clark", "Ramírez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyễn", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien",
    "O'Connor", "O'Neill", "D'Angelo", "D'Souza", "McDonald", "MacLeod", "Lovelace", "Hopper",
    "Turing", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schäfer", "Koch", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
    "Lewandowski", "Zieliński", "Szymański", "Dąbrowski", "Novák", "Svoboda", "Dvořák", "Černý",
    "Procházka", "Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Popescu", "Ionescu", "Yılmaz",  # noqa: RUF001
    "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Dubois", "Lefèvre", "Moreau", "Laurent",
    "Girard", "Fontaine", "Rousseau", "Mercier", "Bonnet", "Lambert", "Faure", "Garnier",
    "Chevalier", "Leroy", "Müller-Lüdenscheidt", "Rossi", "Russo", "Ferrari", "Esposito",
    "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Silva", "Santos", "Ferreira",
    "Pereira", "Oliveira", "Costa", "Gonçalves", "Sørensen", "Jensen", "Nielsen", "Hansen",
    "Pedersen", "Andersen", "Østergaard", "Johansson", "Karlsson", "Nilsson", "Eriksson",
    "Larsson", "Lindström", "Åberg", "Virtanen", "Korhonen", "Mäkinen", "Ivanov", "Smirnov",
    "Kuznetsov", "Popov", "Petrov", "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Itō",
    "Yamamoto", "Kim", "Park", "Choi", "Jung", "Kang", "Wang", "Li", "Zhang", "Liu", "Chen",
    "Yang", "Huang", "Zhao", "Wu", "Zhou", "Trần", "Lê", "Phạm", "Singh", "Patel", "Kumar",
    "Sharma", "Gupta", "Reddy", "Iyer", "Nair", "Khan", "Ahmed", "Ali", "Hassan", "Haddad",
    "Al-Sayed", "El-Amin", "Okafor", "Okonkwo", "Mensah", "Boateng", "Nkosi", "Dlamini",
    "Jansen", "Bakker", "Visser", "Smit", "Fitzgerald", "Murphy", "Kelly", "Byrne", "Ng", "Ho",
    "Wong", "Tan", "Lim", "Þórsdóttir", "Guðmundsson",
)  # fmt: skip
_LAST_NAMES_WITH_SPACES: Final = (
    "van der Berg", "de Jong", "de la Cruz", "del Río", "Ó Súilleabháin",
)  # fmt: skip

#: Names that test escaping in every view and export (HTML, CSV formula injection, SQL,
#: control characters, right-to-left override, emoji, a very long name).
_HOSTILE_NAMES: Final = (
    ("<b>bold</b>", "bold"),
    ("=cmd|' /C calc'!A0", "cmd"),
    ("<script>alert('x')</script>", "script"),
    ("+SUM(1+1)*cmd|' /C calc'!A0", "sum"),
    ("Robert'); DROP TABLE contacts;--", "robert"),
    ('Bobby "Tables" Jones', "bobby.tables"),
    ("@SUM(A1:A9)", "atsum"),
    ("Tab\tSeparated Name", "tab.separated"),
    ("Line\nBreak", "line.break"),
    ("\u202eesreveR\u202c Name", "reverse"),
    ("😀 Emoji Person", "emoji"),
    ("Wolfeschlegelsteinhausenbergerdorff " * 5 + "Sr.", "wolfe"),
    ("null", "null"),
    ("-2+3+cmd|' /C calc'!A0", "minus"),
)

_SLUG_TRANSLATE: Final = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d",
     "Đ": "D", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i", "œ": "oe"}  # noqa: RUF001
)  # fmt: skip


def _slug(name: str) -> str:
    """The ASCII letters of a name, lower-cased, as found in email addresses."""
    text = unicodedata.normalize("NFKD", name.translate(_SLUG_TRANSLATE))
    return "".join(c for c in text.lower() if "a" <= c <= "z")


_FIRSTS: Final = tuple((n, _slug(n)) for n in _FIRST_NAMES + _FIRST_NAMES_WITH_SPACES)
_LASTS: Final = tuple((n, _slug(n)) for n in _LAST_NAMES + _LAST_NAMES_WITH_SPACES)

#: Companies: (name, domain). Names containing "agency" match a Pipedrive rule.
_COMPANIES: Final = (
    ("Acme Corporation", "acme.com"),
    ("Globex", "globex.com"),
    ("Initech", "initech.com"),
    ("Umbrella Health", "umbrella-health.com"),
    ("Stark Industries", "starkindustries.com"),
    ("Wayne Enterprises", "wayne-ent.com"),
    ("Hooli", "hooli.xyz"),
    ("Pied Piper", "piedpiper.com"),
    ("Vandelay Industries", "vandelay.com"),
    ("Dunder Mifflin", "dundermifflin.com"),
    ("Northwind Traders", "northwind.com"),
    ("Contoso Ltd", "contoso.com"),
    ("Fabrikam, Inc.", "fabrikam.com"),
    ("Tailspin Toys", "tailspintoys.com"),
    ("Adventure Works", "adventure-works.com"),
    ("Bäckerei Schmidt GmbH", "baeckerei-schmidt.de"),
    ("Müller & Söhne GmbH", "mueller-soehne.de"),
    ("Nordlicht Medien GmbH", "nordlicht-medien.de"),
    ("Agentur Sonnenschein", "sonnenschein-agentur.de"),
    ("Café Lumière SARL", "cafe-lumiere.fr"),
    ("Société Bleue", "societe-bleue.fr"),
    ("Kowalski i Syn sp. z o.o.", "kowalski-syn.pl"),
    ("Nørdisk Design ApS", "nordisk-design.dk"),
    ("Zürich Analytics AG", "zuerich-analytics.ch"),
    ("Olé Tapas S.L.", "oletapas.es"),
    ("Bella Vista S.r.l.", "bellavista.it"),
    ("Sakura Systems K.K.", "sakura-sys.jp"),
    ("Blue Harbor Logistics", "blueharbor.io"),
    ("Greenleaf Organics", "greenleaf.co"),
    ("Summit Peak Consulting", "summitpeak.com"),
    ("Lighthouse Analytics", "lighthouse-analytics.io"),
    ("O'Reilly & Partners LLP", "oreillypartners.co.uk"),
    ("Quantum Leap Labs", "qleap.ai"),
    ("Helios Energy", "helios-energy.com"),
    ("Atlas Freight", "atlasfreight.com"),
    ("Copperfield & Co", "copperfield.co"),
    ("Brightside Creative Agency", "brightside.agency"),
    ("Pixel & Pine Agency", "pixelandpine.com"),
    ("Redwood Digital Agency", "redwood-digital.com"),
    ("North Star Travel Agency", "northstartravel.com"),
)
_AGENCIES: Final = tuple(i for i, (n, _) in enumerate(_COMPANIES) if "agency" in n.lower())
_NON_AGENCIES: Final = tuple(i for i, (n, _) in enumerate(_COMPANIES) if "agency" not in n.lower())

_PERSONAL_DOMAINS: Final = (
    ("gmail.com", 40), ("outlook.com", 10), ("yahoo.com", 8), ("hotmail.com", 6),
    ("icloud.com", 5), ("gmx.de", 4), ("web.de", 3), ("t-online.de", 2), ("orange.fr", 2),
    ("free.fr", 1), ("hotmail.co.uk", 2), ("yahoo.co.uk", 1), ("libero.it", 1),
    ("proton.me", 2), ("aol.com", 1),
)  # fmt: skip
_TYPO_DOMAINS: Final = (
    "gmial.com", "gmai.com", "gnail.com", "hotmial.com", "yahooo.com", "outlok.com",
    "gmail.con", "icloud.co",
)  # fmt: skip
#: Local-part patterns: f/l are the first/last name slugs, i the first initial.
_PATTERNS: Final[tuple[tuple[str, int], ...]] = (
    ("{f}.{l}", 36), ("{i}{l}", 16), ("{f}{l}", 10), ("{f}", 8), ("{f}_{l}", 6),
    ("{l}{i}", 5), ("{i}.{l}", 6), ("{f}.{l}{y}", 5),
)  # fmt: skip


class _Person:
    """One person: display name parts, a normalized (clean) email, an employer."""

    __slots__ = ("company", "email", "first", "last", "name")

    def __init__(self, first: str, last: str, name: str, email: str, company: int) -> None:
        self.first = first
        self.last = last
        self.name = name
        self.email = email
        self.company = company


# --------------------------------------------------------------------------- helpers


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _weighted(rnd: Callable[[], float], cum: Sequence[float]) -> int:
    return bisect(cum, rnd() * cum[-1])


@cache
def _times_of_day() -> tuple[str, ...]:
    return tuple(
        f"T{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )


def _clock(first: int, last: int) -> Callable[[int], str]:
    """A fast formatter of epoch seconds in [first, last] as RFC 3339 UTC text."""
    day0 = first - first % DAY
    start = datetime.fromtimestamp(day0, UTC)
    days = [
        (start + timedelta(days=k)).strftime("%Y-%m-%d") for k in range((last - day0) // DAY + 1)
    ]
    tod = _times_of_day()

    def ts(t: int) -> str:
        d, s = divmod(t - day0, DAY)
        return days[d] + tod[s]

    return ts


_B62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SF_SUFFIX: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_B62_CAPITAL: Final = tuple(int("A" <= c <= "Z") for c in _B62)


def _salesforce_id(serial: int) -> str:
    """An 18-character Salesforce Lead id (15 characters and the case-safe suffix).

    The suffix has one character per 5-character chunk, telling which of its characters
    are capitals; the fixed prefix "00Q5g00000" gives "EA", the varying tail the last.
    """
    v = 14_000_000 + serial * 97 + (serial * 31) % 97
    tail = ""
    bits = 0
    for pos in range(4, -1, -1):
        v, r = divmod(v, 62)
        tail = _B62[r] + tail
        bits |= _B62_CAPITAL[r] << pos
    return "00Q5g00000" + tail + "EA" + _SF_SUFFIX[bits]


def _id_formatter(kind: str, salt: str, base: int) -> Callable[[int], str]:
    """Record ids of an app kind from a per-(connection, app) serial; injective."""
    if kind == "hubspot":
        return lambda s: str(base + s * 3 + s % 3)
    if kind == "pipedrive":
        return lambda s: str(base + s * 2 + s % 2)
    if kind == "salesforce":
        return _salesforce_id
    prefix = salt.encode()
    return lambda s: hashlib.md5(prefix + str(s).encode(), usedforsecurity=False).hexdigest()


# --------------------------------------------------------------------------- errors

_GENERIC_ERRORS: Final = (
    ("429", "Too Many Requests"),
    ("503", "Service Unavailable"),
    ("TIMEOUT", "Read timed out after 30 seconds"),
)
_EMPLOYEE_VALUES: Final = (
    "50-100", "1,200", "approx. 200", "twenty", "10+", "n/a", "500 - 1000", "~75", "1.5k",
)  # fmt: skip

# Error kinds (what the target app said), picked by weight per target kind and purpose.
_E_GENERIC = 0
_E_MEMBER_EXISTS = 1
_E_FAKE_EMAIL = 2
_E_COMPLIANCE = 3
_E_FORGOTTEN = 4
_E_MERGE_FIELDS = 5
_E_API_KEY = 6
_E_VALIDATION = 7
_E_CONFLICT = 8
_E_EXPIRED = 9
_E_PD_NAME = 10
_E_PD_PAYMENT = 11

#: (target kind, purpose) -> ((error kind, weight), ...). Purposes: "create" (a contact
#: that never made it), "update" (a synced pair whose latest write fails), "transient"
#: (a failure that a later retry got past).
_ERROR_MIX: Final[dict[tuple[str, str], tuple[tuple[int, int], ...]]] = {
    ("mailchimp", "create"): (
        (_E_MEMBER_EXISTS, 3), (_E_FAKE_EMAIL, 3), (_E_COMPLIANCE, 3), (_E_FORGOTTEN, 2),
        (_E_MERGE_FIELDS, 1), (_E_GENERIC, 1),
    ),
    ("mailchimp", "update"): (
        (_E_COMPLIANCE, 3), (_E_MERGE_FIELDS, 2), (_E_API_KEY, 1), (_E_FORGOTTEN, 1),
        (_E_GENERIC, 1),
    ),
    ("mailchimp", "transient"): ((_E_API_KEY, 2), (_E_GENERIC, 4), (_E_MERGE_FIELDS, 1)),
    ("hubspot", "create"): ((_E_CONFLICT, 4), (_E_VALIDATION, 3), (_E_EXPIRED, 1), (_E_GENERIC, 1)),
    ("hubspot", "update"): ((_E_VALIDATION, 3), (_E_EXPIRED, 1), (_E_GENERIC, 1)),
    ("hubspot", "transient"): ((_E_EXPIRED, 3), (_E_GENERIC, 3)),
    ("pipedrive", "create"): ((_E_PD_NAME, 2), (_E_PD_PAYMENT, 1), (_E_GENERIC, 2)),
    ("pipedrive", "update"): ((_E_PD_NAME, 1), (_E_PD_PAYMENT, 1), (_E_GENERIC, 1)),
    ("pipedrive", "transient"): ((_E_PD_PAYMENT, 1), (_E_GENERIC, 4)),
}  # fmt: skip
_ERROR_CHOICES: Final = {
    key: (tuple(k for k, _ in mix), _cumulative([w for _, w in mix]))
    for key, mix in _ERROR_MIX.items()
}


# --------------------------------------------------------------------------- fields

_HS_MATCH_STAGES: Final = (
    "customer", "customer", "customer", "opportunity", "opportunity", "Customer", " customer ",
)  # fmt: skip
_HS_OPEN_STAGES: Final = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead")
_HS_NO_MATCH_STAGES: Final = (*_HS_OPEN_STAGES, "evangelist", "other", "lead", "subscriber")
_HS_TAGS: Final = ("webinar", "vip", "trial", "churn-risk", "event-2026", "beta", "partner")
_MC_LISTS: Final = ("Newsletter", "Product updates", "Events", "Customers")
_MC_TAGS: Final = ("imported", "webinar-2026", "vip", "hubspot-sync", "pipedrive-sync", "b2b")
_MC_OFF_STATUSES: Final = ("unsubscribed", "unsubscribed", "unsubscribed", "cleaned", "cleaned")
_SF_SOURCES: Final = (
    "Web", "Web", "Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Purchased List",
    "Employee Referral", "Webinar", "Other", "",
)  # fmt: skip
_SF_PARTNER: Final = ("Partner", "Partner", "partner", "Partner ", "PARTNER")
_SF_VP_TITLES: Final = ("VP Sales", "VP of Marketing", "vp engineering", "VP, Customer Success")
_SF_TITLES: Final = (
    "Vice President Finance", "Director of IT", "Head of Growth", "Marketing Manager",
    "Account Executive", "Sales Development Rep", "CTO", "CEO & Founder", "Office Manager",
    "Procurement Lead", "Software Engineer", "",
)  # fmt: skip
_PD_MATCH_LABELS: Final = ("Customer", "Customer", "Hot lead", "Hot lead", "customer", "Hot Lead")
_PD_OTHER_LABELS: Final = ("Cold lead", "Cold lead", "", None)


def _pick(rnd: Callable[[], float], seq: Sequence[Any]) -> Any:
    return seq[int(rnd() * len(seq))]


def _phone(rnd: Callable[[], float]) -> str:
    r = rnd()
    n = int(rnd() * 10_000)
    if r < 0.45:
        return f"+1 {200 + int(rnd() * 800)} 555 {n:04d}"
    if r < 0.6:
        return f"({200 + int(rnd() * 800)}) 555-{n:04d}"
    if r < 0.75:
        return f"+44 20 7946 {n:04d}"
    if r < 0.88:
        return f"+49 30 {int(rnd() * 9000000) + 1000000}"
    return f"+33 1 {int(rnd() * 90) + 10} {int(rnd() * 90) + 10} {n:04d}"


def _hubspot_fields(
    rnd: Callable[[], float], p: _Person, match: bool | None, bad_employees: str | None
) -> dict[str, Any]:
    """HubSpot contact properties; `match` against the rules of c-hs-mc (r1 or r2)."""
    if match is None:
        match = rnd() < 0.6
    tags: list[str] = []
    if rnd() < 0.4:
        tags.append(_pick(rnd, _HS_TAGS))
    if match:
        if rnd() < 0.7:
            stage = _pick(rnd, _HS_MATCH_STAGES)
            if rnd() < 0.3:
                tags.insert(0, "newsletter")
        else:
            stage = _pick(rnd, _HS_OPEN_STAGES)
            tags.insert(0, "Newsletter" if rnd() < 0.1 else "newsletter")
    elif rnd() < 0.2:
        stage = "Other" if rnd() < 0.3 else "other"  # has the tag, but r2 excludes "other"
        tags.insert(0, "newsletter")
    else:
        stage = _pick(rnd, _HS_NO_MATCH_STAGES)
    fields: dict[str, Any] = {"lifecyclestage": stage}
    if rnd() < 0.92:
        fields["company"] = _COMPANIES[p.company][0]
    r = rnd()
    if r < 0.7:
        fields["phone"] = _phone(rnd)
    elif r < 0.85:
        fields["phone"] = ""
    fields["tags"] = tags
    if bad_employees is not None:
        fields["num_employees"] = bad_employees
    return fields


def _mailchimp_fields(
    rnd: Callable[[], float], p: _Person, match: bool | None, bad_employees: str | None
) -> dict[str, Any]:
    """Mailchimp member data; `match` against c-hs-mc's r3 (status equals subscribed)."""
    if match is None:
        match = rnd() < 0.9
    status = "subscribed" if match else _pick(rnd, _MC_OFF_STATUSES)
    lists = ["Newsletter"]
    if rnd() < 0.35:
        lists.append(_pick(rnd, _MC_LISTS[1:]))
    tags = [_pick(rnd, _MC_TAGS)] if rnd() < 0.5 else []
    merge: dict[str, Any] = {"FNAME": p.first, "LNAME": p.last}
    if bad_employees is not None:
        merge["EMPLOYEES"] = bad_employees
    return {"status": status, "lists": lists, "tags": tags, "merge_fields": merge}


def _salesforce_fields(
    rnd: Callable[[], float], p: _Person, match: bool | None, bad_employees: str | None
) -> dict[str, Any]:
    """A Salesforce Lead; `match` against c-sf-hs's r1 (not Partner, has email) or r2 (VP)."""
    if match is None:
        match = rnd() < 0.8
    has_email = bool(p.email)
    account = _COMPANIES[p.company][0]
    if match and has_email and rnd() < 0.85:
        source = _pick(rnd, _SF_SOURCES)
        title = _pick(rnd, _SF_TITLES + _SF_VP_TITLES)
    elif match:  # through r2, whatever the source or email
        source = _pick(rnd, _SF_PARTNER + _SF_SOURCES)
        title = _pick(rnd, _SF_VP_TITLES)
    else:
        source = _pick(rnd, _SF_PARTNER) if has_email else _pick(rnd, _SF_SOURCES)
        title = _pick(rnd, _SF_TITLES)
        if rnd() < 0.15:  # a VP, but without an account: r2 fails too
            title = _pick(rnd, _SF_VP_TITLES)
            account = ""
    fields: dict[str, Any] = {}
    if source or rnd() < 0.5:
        fields["LeadSource"] = source
    fields["Title"] = title
    fields["AccountName"] = account
    if rnd() < 0.6:
        fields["Phone"] = _phone(rnd)
    if bad_employees is not None:
        fields["NumberOfEmployees"] = bad_employees
    elif rnd() < 0.3:
        fields["NumberOfEmployees"] = int(rnd() * 5000) + 1
    return fields


def _pipedrive_fields(
    rnd: Callable[[], float], p: _Person, match: bool | None, bad_employees: str | None
) -> dict[str, Any]:
    """A Pipedrive person; `match` against c-pd-mc's r1 (label), r2 (.de) or r3 (agency)."""
    if match is None:
        match = rnd() < 0.7
    org = p.company if p.company in _NON_AGENCIES else _pick(rnd, _NON_AGENCIES)
    german = p.email.endswith(".de")
    r = rnd()
    if match and r < 0.15:
        org = _pick(rnd, _AGENCIES)
        label = _pick(rnd, _PD_OTHER_LABELS)
    elif match and r < 0.3 and german:
        label = "Warm lead"
    elif match:
        label = _pick(rnd, _PD_MATCH_LABELS)
    elif r < 0.25 and not german:
        label = "Warm lead"
    else:
        label = _pick(rnd, _PD_OTHER_LABELS)
    agency = org in _AGENCIES
    fields: dict[str, Any] = {"org_name": _COMPANIES[org][0] if agency or rnd() < 0.95 else ""}
    if label is not None:
        fields["label"] = label
    if rnd() < 0.7:
        fields["phone"] = _phone(rnd)
    return fields


_FieldBuilder = Callable[[Callable[[], float], _Person, bool | None, str | None], dict[str, Any]]
_BUILDERS: Final[dict[str, _FieldBuilder]] = {
    "hubspot": _hubspot_fields,
    "mailchimp": _mailchimp_fields,
    "salesforce": _salesforce_fields,
    "pipedrive": _pipedrive_fields,
}


def _changed_fields(rnd: Callable[[], float], fields: dict[str, Any]) -> dict[str, Any]:
    """An earlier version of `fields` that differs in a detail the rules do not read."""
    old = dict(fields)
    if "merge_fields" in old:
        old["lists"] = ["Newsletter"] if len(old["lists"]) > 1 else ["Newsletter", "Events"]
    else:
        key = "Phone" if "Title" in old else "phone"
        old[key] = _phone(rnd)
    return old


# --------------------------------------------------------------------------- connections

# Unit kinds: what one generated contact is meant to be.
_SYNCED = 0  # mapped pair, in sync
_RECOVERED = 1  # mapped pair, in sync after a failure
_PAIR_FAILING = 2  # mapped pair whose latest write failed
_PAIR_EXCLUDED = 3  # mapped pair that stopped matching
_PAIR_DELETED = 4  # mapped pair, one record deleted
_PAIR_UNLINKED = 5  # mapped pair whose mapping was removed later (two contacts)
_NO_MATCH = 6  # single record, no rule match
_NO_EMAIL = 7  # single record, matches, no email
_DUPLICATE = 8  # single record, same email as an earlier one
_FAILING = 9  # single record whose creation fails
_PENDING = 10  # single record not processed yet
_HIDDEN = 11  # one-way connection: record of the target app only (not visible)
_PAIR_KINDS: Final = frozenset(
    {_SYNCED, _RECOVERED, _PAIR_FAILING, _PAIR_EXCLUDED, _PAIR_DELETED, _PAIR_UNLINKED}
)

#: The first units of every connection, so that small feeds still show every case.
_SHOWCASE: Final = (
    _SYNCED, _SYNCED, _SYNCED, _NO_MATCH, _DUPLICATE, _NO_EMAIL, _FAILING, _RECOVERED,
    _PAIR_FAILING, _PENDING, _PAIR_EXCLUDED, _SYNCED, _PAIR_DELETED, _DUPLICATE, _NO_EMAIL,
    _PAIR_UNLINKED, _NO_MATCH, _FAILING, _NO_EMAIL, _NO_EMAIL,
)  # fmt: skip
#: Showcase positions whose record also gets a later version (an upsert).
_SHOWCASE_UPSERTS: Final = (10, 11)
_HIDDEN_EVERY = 12  # one-way: every 12th unit is a record of the target app only
_HOSTILE_EVERY = 151  # one unit in this many has a hostile name

# Outcome codes of the packed event plan: 4 bits per slot, bit 3 = the event's app is b.
_CREATED = 1
_UPDATED = 2
_UNCHANGED = 3
_EXCLUDED = 4
_DUP = 5
_FAILED = 6
_OUTCOMES: Final = ("", "created", "updated", "unchanged", "excluded", "duplicate", "failed")
_B_BIT = 8
_A = 0
_B = 1
_SIDES: Final = ("a", "b")

# Flags per unit.
_F_PRE = 1  # created before the connection started: processed by the initial sync
_F_MAPPED = 2
_F_REMOVED = 4


@dataclass(frozen=True, slots=True)
class _Spec:
    """One demo connection: its settings, its story in time, and its mix of kinds."""

    id: str
    name: str
    kinds: tuple[str, str]
    names: tuple[str, str]
    id_bases: tuple[int, int]  # the first numeric id of each app (HubSpot, Pipedrive)
    direction: str
    rules: tuple[dict[str, Any], ...]
    state: dict[str, Any]
    #: Which sides' rules can fail (records generated not to match come from these).
    constrained: tuple[bool, bool]
    started: int  # seconds before BASE_TIME
    last_created: int  # seconds before BASE_TIME of the last scheduled record creation
    pending: tuple[int, int]  # window (seconds before BASE_TIME) of unprocessed records
    rounds_end: int  # seconds before BASE_TIME when the last regular round starts
    rounds: int
    #: An in-progress round: (starts, ends before BASE_TIME, share of units it reached).
    running: tuple[int, int, float] | None
    weights: tuple[float, ...]  # per visible kind 0..10


def _cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    condition = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return condition


_TWO_WAY_MIX: Final = (
    0.74, 0.03, 0.02, 0.015, 0.005, 0.003, 0.065, 0.03, 0.045, 0.027, 0.02,
)  # fmt: skip
_ONE_WAY_MIX: Final = (
    0.72, 0.03, 0.025, 0.015, 0.005, 0.003, 0.08, 0.03, 0.04, 0.027, 0.025,
)  # fmt: skip
_NO_PAIR_EXCLUDED: Final = (
    0.755, 0.03, 0.02, 0.0, 0.005, 0.003, 0.065, 0.03, 0.045, 0.027, 0.02,
)  # fmt: skip

_HS_MC_NAME: Final = "HubSpot ⇄ Mailchimp"
_SF_HS_NAME: Final = "Salesforce → HubSpot"
_PD_MC_NAME: Final = "Pipedrive ⇄ Mailchimp"

_SPECS: Final = (
    _Spec(
        id="c-hs-mc",
        name=_HS_MC_NAME,
        kinds=("hubspot", "mailchimp"),
        names=("HubSpot", "Mailchimp"),
        id_bases=(101, 0),
        direction="two_way",
        rules=(
            {"id": "r1", "from": "a",
             "all": [_cond("lifecyclestage", "in", ["customer", "opportunity"])]},
            {"id": "r2", "from": "a",
             "all": [_cond("tags", "has_tag", "newsletter"),
                     _cond("lifecyclestage", "not_equals", "other")]},
            {"id": "r3", "from": "b", "all": [_cond("status", "equals", "subscribed")]},
        ),
        state={"phase": "active", "app": None, "locked_by": None, "message": None},
        constrained=(True, True),
        started=42 * DAY,
        last_created=1 * HOUR,
        pending=(20 * MINUTE, 30),
        rounds_end=1 * DAY,
        rounds=6,
        running=None,
        weights=_TWO_WAY_MIX,
    ),
    _Spec(
        id="c-sf-hs",
        name=_SF_HS_NAME,
        kinds=("salesforce", "hubspot"),
        names=("Salesforce", "HubSpot"),
        id_bases=(0, 4_500_001),  # another HubSpot portal than c-hs-mc's
        direction="a_to_b",
        rules=(
            {"id": "r1", "from": "a",
             "all": [_cond("LeadSource", "not_equals", "Partner"), _cond("email", "is_not_empty")]},
            {"id": "r2", "from": "a",
             "all": [_cond("Title", "starts_with", "VP"), _cond("AccountName", "is_not_empty")]},
            # Left over from when the connection was two-way: a one-way connection reads
            # only the rules of its source side.
            {"id": "r3", "from": "b", "all": []},
        ),
        state={"phase": "syncing", "app": "a", "locked_by": None, "message": None},
        constrained=(True, False),
        started=35 * DAY,
        last_created=4 * HOUR,
        pending=(2 * HOUR, 10 * MINUTE),
        rounds_end=2 * DAY,
        rounds=4,
        running=(3 * HOUR, 10 * MINUTE, 0.6),
        weights=_ONE_WAY_MIX,
    ),
    _Spec(
        id="c-pd-mc",
        name=_PD_MC_NAME,
        kinds=("pipedrive", "mailchimp"),
        names=("Pipedrive", "Mailchimp"),
        id_bases=(1, 0),
        direction="two_way",
        rules=(
            {"id": "r1", "from": "a", "all": [_cond("label", "in", ["Customer", "Hot lead"])]},
            {"id": "r2", "from": "a",
             "all": [_cond("label", "equals", "Warm lead"), _cond("email", "ends_with", ".de")]},
            {"id": "r3", "from": "a", "all": [_cond("org_name", "contains", "agency")]},
            {"id": "r4", "from": "b", "all": []},
        ),
        state={"phase": "locked", "app": None,
               "locked_by": {"id": "c-sf-hs", "name": _SF_HS_NAME}, "message": None},
        constrained=(True, False),
        started=28 * DAY,
        last_created=4 * HOUR,
        pending=(3 * HOUR, 5 * MINUTE),
        rounds_end=1 * DAY,
        rounds=4,
        running=None,
        weights=_NO_PAIR_EXCLUDED,  # every Mailchimp member matches: a pair always does
    ),
)  # fmt: skip
_SHARES: Final = (0.55, 0.30, 0.15)
_SMALL: Final = 50  # fewer contacts than this: the first two connections only


class _Demo:
    """The whole demo: splits the contacts over the connections and chains their feeds."""

    def __init__(self, *, contacts: int, seed: int) -> None:
        if contacts < 0:
            raise ValueError(f"contacts must be >= 0, got {contacts}")
        self._rng = random.Random(seed)
        specs: tuple[_Spec, ...]
        if contacts >= _SMALL:
            specs = _SPECS
            counts = [round(contacts * share) for share in _SHARES[:2]]
        else:
            specs = _SPECS[:2]
            counts = [round(contacts * 0.65)]
        counts.append(contacts - sum(counts))
        self._plan = list(zip(specs, counts, strict=True))
        self.connection_ids = tuple(spec.id for spec in specs)
        #: Visible contacts generated so far (complete once items() is exhausted).
        self.visible = 0
        self._ts = _clock(_BASE - _HISTORY - 30 * DAY, _BASE + DAY)

    def items(self) -> Iterator[dict[str, Any]]:
        seeds = [self._rng.getrandbits(64) for _ in self._plan]
        hostile = 0
        for (spec, count), seed in zip(self._plan, seeds, strict=True):
            feed = _ConnectionFeed(spec, count, random.Random(seed), self._ts, hostile=hostile)
            yield from feed.items()
            self.visible += feed.visible
            hostile = feed.hostile_used


class _ConnectionFeed:
    """The feed of one connection, generated in passes over compact per-unit arrays.

    A *unit* is what one step of generation makes: a mapped pair, a single record or (in
    the one-way connection) a hidden record of the target app. Pass 1 draws each unit,
    yields its records and packs its event plan; the later passes yield mappings, changes
    and, merging one time-ordered stream per round, the events.
    """

    def __init__(
        self,
        spec: _Spec,
        count: int,
        rng: random.Random,
        ts: Callable[[int], str],
        *,
        hostile: int = 0,
    ) -> None:
        self._spec = spec
        self._count = count
        self._rng = rng
        self._rnd = rng.random
        self._ts = ts
        self._cid = spec.id
        self._one_way = spec.direction != "two_way"
        self._ids = (
            _id_formatter(spec.kinds[0], f"{spec.id}/a/", spec.id_bases[0]),
            _id_formatter(spec.kinds[1], f"{spec.id}/b/", spec.id_bases[1]),
        )
        self._builders = (_BUILDERS[spec.kinds[0]], _BUILDERS[spec.kinds[1]])
        self._kind_cum = _cumulative(spec.weights)
        self._pattern_cum = _cumulative([w for _, w in _PATTERNS])
        self._domain_cum = _cumulative([w for _, w in _PERSONAL_DOMAINS])
        self.visible = 0

        # Time: units are created in order over the year before; the connection starts at
        # `start`, the initial sync walks the units that existed then, rounds follow.
        hidden_share = 1 / (_HIDDEN_EVERY - 1) if self._one_way else 0.0
        self._span_units = max(1, int(count * (1 + hidden_share)) + 2)
        self._first = _BASE - _HISTORY
        self._start = _BASE - spec.started
        self._last = _BASE - spec.last_created
        span = self._last - self._first
        self._pre_units = max(1, (self._span_units * (self._start - self._first)) // span)
        self._initial = min(30 * HOUR, max(15 * MINUTE, int(self._pre_units * 0.3)))
        window = min(4 * HOUR, max(10 * MINUTE, int(self._span_units * 0.02)))
        first_round = self._start + 300 + self._initial + DAY
        last_round = _BASE - spec.rounds_end - window
        self._round_start = [
            first_round + k * (last_round - first_round) // max(1, spec.rounds - 1)
            for k in range(spec.rounds)
        ]
        self._round_window = [window] * spec.rounds
        self._round_limit = [self._span_units] * spec.rounds
        if spec.running is not None:
            begins, ends, share = spec.running
            self._round_start.append(_BASE - begins)
            self._round_window.append(begins - ends)
            self._round_limit.append(int(self._span_units * share))
        self._last_live = 0
        self._units = 0

        # Per-unit bookkeeping for the later passes.
        self._plan = array("q")
        self._e0 = array("q")
        self._link = array("q")
        self._serial = (array("q"), array("q"))
        self._flags = bytearray()
        self._errors: dict[int, dict[str, str]] = {}
        self._removed: list[int] = []
        self._changes: list[dict[str, Any]] = []
        self._next_serial = [0, 0]
        self._email_counts: dict[int, int] = {}
        #: Recent records that a duplicate may copy, per side: (email, first, last, created).
        self._dup_pool: tuple[deque[tuple[str, str, str, int]], ...] = (
            deque(maxlen=64),
            deque(maxlen=64),
        )
        #: Rotations: no-email variant, duplicate variant, hostile name (continued from the
        #: connections before, so that a small demo still shows every hostile name).
        self._cycle = [0, 0, hostile]

    # ------------------------------------------------------------------ passes

    def items(self) -> Iterator[dict[str, Any]]:
        yield self._connection_item()
        yield from self._records()
        yield from self._mappings()
        yield from self._changes
        yield from self._events()

    def _connection_item(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "type": "connection",
            "id": spec.id,
            "name": spec.name,
            "apps": {
                "a": {"name": spec.names[0], "kind": spec.kinds[0]},
                "b": {"name": spec.names[1], "kind": spec.kinds[1]},
            },
            "direction": spec.direction,
            "avoid_duplicates": True,
            # Copies: a consumer may change the items it gets.
            "rules": copy.deepcopy(list(spec.rules)),
            "state": copy.deepcopy(spec.state),
        }

    @property
    def hostile_used(self) -> int:
        """Where the rotation of hostile names stands (for the next connection)."""
        return self._cycle[2]

    def _records(self) -> Iterator[dict[str, Any]]:
        rnd = self._rnd
        kind_cum = self._kind_cum
        i = 0
        shown = 0
        while shown < self._count:
            upsert = False
            if self._one_way and i % _HIDDEN_EVERY == _HIDDEN_EVERY - 1:
                kind = _HIDDEN
            else:
                kind = _SHOWCASE[shown] if shown < len(_SHOWCASE) else _weighted(rnd, kind_cum)
                if kind == _PAIR_EXCLUDED and not self._spec.constrained[_B] and not self._one_way:
                    kind = _SYNCED
                upsert = shown in _SHOWCASE_UPSERTS
                shown += 1
            if kind == _HIDDEN:
                yield from self._hidden(i)
            elif kind in _PAIR_KINDS:
                yield from self._pair(i, kind, upsert)
            else:
                yield from self._single(i, kind)
            i += 1
        self._units = i

    def _mappings(self) -> Iterator[dict[str, Any]]:
        cid = self._cid
        ts = self._ts
        id_a, id_b = self._ids
        ser_a, ser_b = self._serial
        link = self._link
        flags = self._flags
        for i in range(self._units):
            if flags[i] & _F_MAPPED:
                yield {
                    "type": "mapping",
                    "connection": cid,
                    "a": id_a(ser_a[i]),
                    "b": id_b(ser_b[i]),
                    "since": ts(link[i]),
                    "removed": False,
                }
        for i in self._removed:
            yield {
                "type": "mapping",
                "connection": cid,
                "a": id_a(ser_a[i]),
                "b": id_b(ser_b[i]),
                "since": ts(link[i]),
                "removed": True,
            }

    def _events(self) -> Iterator[dict[str, Any]]:
        streams = [self._initial_stream(True), self._initial_stream(False)]
        streams += [self._round_stream(k) for k in range(len(self._round_start))]
        cid = self._cid
        ts = self._ts
        ids = self._ids
        serial = self._serial
        plan = self._plan
        errors = self._errors
        for seq, (t, i, slot) in enumerate(heapq.merge(*streams), 1):
            nib = (plan[i] >> (4 * slot)) & 15
            code = nib & 7
            side = 1 if nib & _B_BIT else 0
            event: dict[str, Any] = {
                "type": "event",
                "connection": cid,
                "seq": seq,
                "at": ts(t),
                "app": _SIDES[side],
                "id": ids[side](serial[side][i]),
                "outcome": _OUTCOMES[code],
                "target": _SIDES[1 - side],
            }
            if code == _FAILED:
                event["error"] = dict(errors[i * 16 + slot])
            yield event

    def _initial_stream(self, pre: bool) -> Iterator[tuple[int, int, int]]:
        """First events: the initial sync (pre) or live processing, each in time order."""
        plan = self._plan
        e0 = self._e0
        flags = self._flags
        want = _F_PRE if pre else 0
        for i in range(self._units):
            if plan[i] & 15 and flags[i] & _F_PRE == want:
                yield (e0[i], i, 0)

    def _round_stream(self, k: int) -> Iterator[tuple[int, int, int]]:
        plan = self._plan
        shift = 4 * (k + 1)
        for i in range(self._units):
            if (plan[i] >> shift) & 15:
                yield (self._round_time(k, i), i, k + 1)

    # ------------------------------------------------------------------ time

    def _round_time(self, k: int, i: int) -> int:
        units = self._span_units
        return self._round_start[k] + (min(i, units - 1) * self._round_window[k]) // units

    def _created(self, i: int) -> int:
        units = self._span_units
        span = self._last - self._first
        step = span // units
        return self._first + (min(i, units - 1) * span) // units + int(self._rnd() * step)

    def _first_event(self, i: int, created: int) -> tuple[int, bool]:
        """When unit i is first processed, and whether by the initial sync."""
        if created < self._start:
            pre = self._pre_units
            return self._start + 300 + (min(i, pre) * self._initial) // pre, True
        t = max(self._last_live, created + 20 + int(self._rnd() * 280))
        self._last_live = t
        return t, False

    def _slot_time(self, slot: int, i: int, e0: int) -> int:
        return e0 if slot == 0 else self._round_time(slot - 1, i)

    def _rounds_after(self, i: int, t: int) -> list[int]:
        """The rounds (as slots 1..) that process unit i after time t."""
        # An hour of margin: a change made before a round (lag <= 30 min) is after t.
        return [
            k + 1
            for k, start in enumerate(self._round_start)
            if start > t + HOUR and i < self._round_limit[k]
        ]

    # ------------------------------------------------------------------ people

    def _person(self, i: int) -> _Person:
        rnd = self._rnd
        company = int(rnd() * len(_COMPANIES))
        hostile = i % _HOSTILE_EVERY == 5
        if hostile:
            h = self._cycle[2] % len(_HOSTILE_NAMES)
            self._cycle[2] += 1
            name, local = _HOSTILE_NAMES[h]
            key = (100 + h) << 40
            first, last = name, ""
        else:
            if rnd() < 0.03:
                first, fslug = _pick(rnd, _FIRSTS[-len(_FIRST_NAMES_WITH_SPACES) :])
            else:
                first, fslug = _pick(rnd, _FIRSTS)
            li = int(rnd() * len(_LASTS))
            last, lslug = _LASTS[li]
            pattern_index = _weighted(rnd, self._pattern_cum)
            year = 60 + int(rnd() * 40)
            local = _PATTERNS[pattern_index][0].format(f=fslug, l=lslug, i=fslug[:1], y=year)
            key = self._email_key(pattern_index, fslug, li, year)
            if rnd() < 0.01 and len(local) > 4:  # a letter missing, for good
                cut = 1 + int(rnd() * (len(local) - 2))
                if local[cut].isalpha():
                    local = local[:cut] + local[cut + 1 :]
                    key = -1 - key  # its own series of numbers
            r = rnd()
            if r < 0.02:
                name = f"{first} {last}".lower()
            elif r < 0.03:
                name = f"{first} {last}".upper()
            elif r < 0.04:
                name = f"{first}  {last}"
            elif r < 0.055:
                name = first
            else:
                name = f"{first} {last}"
        n = self._email_counts.get(key, 0)
        self._email_counts[key] = n + 1
        if n:
            local += str(n)
        if rnd() < 0.35:
            domain = _COMPANIES[company][1]
        else:
            domain = _PERSONAL_DOMAINS[_weighted(rnd, self._domain_cum)][0]
        return _Person(first, last, name, f"{local}@{domain}", company)

    @staticmethod
    def _email_key(pattern: int, fslug: str, li: int, year: int) -> int:
        """A key per distinct email local part, for numbering people who share one."""
        first = int.from_bytes(fslug.encode()[:12].ljust(12, b"\0"), "big")
        template = _PATTERNS[pattern][0]
        if "{f}" not in template:
            first >>= 88  # initial-only patterns: only the first letter counts
        if "{l}" not in template:
            li = 0xFFFF
        if "{y}" not in template:
            year = 0
        return (((pattern << 96 | first) << 16 | li) << 8) | year

    def _messy(self, email: str) -> str:
        """The email as a person or an import typed it into the source app."""
        r = self._rnd()
        if r < 0.04:
            return email[:1].upper() + email[1:]
        if r < 0.055:
            return f" {email} "
        if r < 0.06:
            return email.upper()
        return email

    def _duplicate_email(self, email: str) -> str:
        """The same address differing only in case and surrounding spaces."""
        variant = self._cycle[1] % 5
        self._cycle[1] += 1
        local, _, domain = email.partition("@")
        if variant == 0:
            return f"{local[:1].upper()}{local[1:]}@{domain[:1].upper()}{domain[1:]}"
        if variant == 1:
            return f"  {email} "
        if variant == 2:
            return email.upper()
        if variant == 3:
            return f"  {local.title()}@{domain.title()} "
        return email.capitalize() + " "

    # ------------------------------------------------------------------ records

    def _record(
        self,
        side: int,
        serial: int,
        name: str,
        email: str | None,
        fields: dict[str, Any],
        created: int,
        updated: int,
        *,
        deleted: bool = False,
        absent: bool = False,
    ) -> dict[str, Any]:
        ts = self._ts
        item: dict[str, Any] = {
            "type": "record",
            "connection": self._cid,
            "app": _SIDES[side],
            "id": self._ids[side](serial),
            "name": name,
            "email": email,
            "fields": fields,
            "created_at": ts(created),
            "updated_at": ts(max(created, updated)),
            "deleted": deleted,
        }
        if absent:
            del item["email"]
        return item

    def _display_name(
        self, side: int, p: _Person, fields: dict[str, Any], *, blank: bool = False
    ) -> str:
        if self._spec.kinds[side] != "mailchimp":
            return p.name
        merge = fields["merge_fields"]
        if blank or self._rnd() < 0.04:  # a member who never gave a name
            merge["FNAME"] = merge["LNAME"] = ""
        return f"{merge['FNAME']} {merge['LNAME']}".strip()

    def _take_serial(self, side: int) -> int:
        serial = self._next_serial[side]
        self._next_serial[side] = serial + 1
        return serial

    def _store(self, plan: int, e0: int, link: int, ser_a: int, ser_b: int, flags: int) -> None:
        self._plan.append(plan)
        self._e0.append(e0)
        self._link.append(link)
        self._serial[_A].append(ser_a)
        self._serial[_B].append(ser_b)
        self._flags.append(flags)

    def _error(
        self, i: int, slot: int, target: int, purpose: str, p: _Person
    ) -> tuple[dict[str, str], str | None]:
        """The target app's raw error for unit i at slot; may give a bad employee count.

        A "looks fake" error changes the person's email to a mistyped one first, so that
        the record and the message agree.
        """
        rnd = self._rnd
        kinds, cum = _ERROR_CHOICES[(self._spec.kinds[target], purpose)]
        kind = kinds[_weighted(rnd, cum)]
        bad: str | None = None
        email = p.email
        if kind == _E_GENERIC:
            code, message = _pick(rnd, _GENERIC_ERRORS)
        elif kind == _E_MEMBER_EXISTS:
            code = "Member Exists"
            message = f"{email} is already a list member. Use PUT to insert or update list members."
        elif kind == _E_FAKE_EMAIL:
            local, _, domain = email.partition("@")
            if rnd() < 0.7:
                domain = _pick(rnd, _TYPO_DOMAINS)
            else:
                domain = "example.com"
            p.email = email = f"{local}@{domain}"
            code = "Invalid Resource"
            message = f"{email} looks fake or invalid, please enter a real email address."
        elif kind == _E_COMPLIANCE:
            code = "Member In Compliance State"
            message = (
                f"{email} is in a compliance state due to unsubscribe, bounce, or compliance "
                "review and cannot be subscribed."
            )
        elif kind == _E_FORGOTTEN:
            code = "Forgotten Email Not Subscribed"
            message = (
                f"{email} was permanently deleted and cannot be re-imported. The contact must "
                "re-subscribe to get back on the list."
            )
        elif kind == _E_MERGE_FIELDS:
            code, message = "Invalid Resource", "Your merge fields were invalid."
        elif kind == _E_API_KEY:
            code = "API Key Invalid"
            message = (
                "Your API key may be invalid, or you've attempted to access the wrong datacenter."
            )
        elif kind == _E_VALIDATION:
            bad = _pick(rnd, _EMPLOYEE_VALUES)
            code = "VALIDATION_ERROR"
            message = (
                'Property values were not valid: [{"isValid":false,"message":"'
                f'{bad} was not a valid long.","error":"INVALID_LONG","name":"num_employees"'
                "}]"
            )
        elif kind == _E_CONFLICT:
            code = "CONFLICT"
            message = f"Contact already exists. Existing ID: {int(rnd() * 90_000_000) + 1001}"
        elif kind == _E_EXPIRED:
            hours = 1 + int(rnd() * 9)
            code = "EXPIRED_AUTHENTICATION"
            message = f"The OAuth token used to make this call expired {hours} hour(s) ago."
        elif kind == _E_PD_NAME:
            code, message = "400", "Name must be given."
        else:
            code, message = "402", "Company account is not open (possible reason: trial expired)"
        error = {"code": code, "message": message}
        self._errors[i * 16 + slot] = error
        return error, bad

    def _random_updates(
        self, slots: list[tuple[int, int, int]], rounds: Sequence[int], origin: int
    ) -> None:
        """Later rounds: some pairs changed (updated), some were re-checked (unchanged)."""
        rnd = self._rnd
        for slot in rounds:
            r = rnd()
            if r < 0.19:
                side = origin if self._one_way or rnd() < 0.65 else 1 - origin
                slots.append((slot, _UPDATED if r < 0.11 else _UNCHANGED, side))

    def _pair(self, i: int, kind: int, upsert: bool) -> list[dict[str, Any]]:
        rnd = self._rnd
        spec = self._spec
        created = self._created(i)
        e0, pre = self._first_event(i, created)
        avail = self._rounds_after(i, e0)
        p = self._person(i)
        origin = _A if self._one_way or rnd() < 0.6 else _B
        other = 1 - origin
        bad: str | None = None  # a value the target refuses, in the record of `bad_side`
        bad_side = origin
        matched_existing = False
        slots: list[tuple[int, int, int]] = []  # (slot, outcome, side of the event's app)
        link_slot = 0
        excluded_slot = 0

        if kind == _RECOVERED and not avail:
            kind = _SYNCED
        if kind in (_PAIR_FAILING, _PAIR_EXCLUDED) and not avail:
            kind = _SYNCED
        if kind == _SYNCED and pre and rnd() < 0.08:
            matched_existing = True  # both existed; the initial sync linked them by email
            slots.append((0, _UPDATED if rnd() < 0.6 else _UNCHANGED, origin))
            self._random_updates(slots, avail, origin)
        elif kind == _RECOVERED and (len(avail) < 2 or rnd() < 0.5):
            # The first write failed; a retry in a later round created the counterpart.
            at = int(rnd() * len(avail))
            error, bad = self._error(i, 0, other, "transient", p)
            slots.append((0, _FAILED, origin))
            for slot in avail[:at]:
                if rnd() < 0.3:
                    self._errors[i * 16 + slot] = error
                    slots.append((slot, _FAILED, origin))
            link_slot = avail[at]
            slots.append((link_slot, _CREATED, origin))
            self._random_updates(slots, avail[at + 1 :], origin)
        elif kind == _RECOVERED:
            # Linked, then an update failed, then a later update went through.
            j = int(rnd() * (len(avail) - 1))
            k = j + 1 + int(rnd() * (len(avail) - j - 1))
            side = origin if self._one_way or rnd() < 0.7 else other
            slots.append((0, _CREATED, origin))
            self._random_updates(slots, avail[:j], origin)
            _, bad = self._error(i, avail[j], 1 - side, "transient", p)
            bad_side = side
            slots.append((avail[j], _FAILED, side))
            slots.append((avail[k], _UPDATED, side))
            self._random_updates(slots, avail[k + 1 :], origin)
        elif kind == _PAIR_FAILING:
            j = len(avail) // 2 + int(rnd() * (len(avail) - len(avail) // 2))
            side = origin if self._one_way or rnd() < 0.7 else other
            slots.append((0, _CREATED, origin))
            self._random_updates(slots, avail[:j], origin)
            error, bad = self._error(i, avail[j], 1 - side, "update", p)
            bad_side = side
            slots.append((avail[j], _FAILED, side))
            for slot in avail[j + 1 :]:
                if rnd() < 0.4:
                    self._errors[i * 16 + slot] = error
                    slots.append((slot, _FAILED, side))
        elif kind == _PAIR_EXCLUDED:
            origin, other = _A, _B  # the rule-bearing side changed
            j = int(rnd() * len(avail))
            slots.append((0, _CREATED, origin))
            self._random_updates(slots, avail[:j], origin)
            excluded_slot = avail[j]
            slots.append((excluded_slot, _EXCLUDED, _A))
        else:
            slots.append((0, _CREATED, origin))
            self._random_updates(slots, avail, origin)

        # Times: the counterpart is created when the pair is linked; a record's
        # updated_at follows the changes made in it and the writes made into it.
        plan = 0
        updated = [created, created]
        lag = 20 + int(rnd() * 1800)
        for slot, code, side in slots:
            plan |= (code | (_B_BIT if side else 0)) << (4 * slot)
            t = self._slot_time(slot, i, e0)
            if slot == 0:
                if pre:  # last edited some time before the initial sync read it
                    edited = created + int(rnd() * (self._start - created))
                    updated[side] = max(updated[side], edited)
            elif code != _UNCHANGED:
                updated[side] = max(updated[side], t - lag)
            if code in (_CREATED, _UPDATED):
                updated[1 - side] = max(updated[1 - side], t)
        link = self._slot_time(link_slot, i, e0)
        created_other = link
        if matched_existing:
            created_other = max(self._first, created - int(rnd() * 60 * DAY))
            updated[other] = max(updated[other], created_other + int(rnd() * (e0 - created_other)))

        # Records.
        matches: tuple[bool | None, bool | None]
        if kind == _PAIR_EXCLUDED:
            matches = (False, False)
        else:
            matches = (True, None) if spec.constrained[_A] else (None, None)
            if origin == _B:
                matches = (matches[0], True if spec.constrained[_B] else None)
        ser = [self._take_serial(_A), self._take_serial(_B)]
        records: list[dict[str, Any]] = []
        deleted_side = int(rnd() * 2) if kind == _PAIR_DELETED else -1
        last_t = max(updated)
        for side in (_A, _B):
            fields = self._builders[side](rnd, p, matches[side], bad if side == bad_side else None)
            name = self._display_name(side, p, fields)
            if side == origin:
                email = self._messy(p.email)
                made = created
            else:
                email = p.email
                made = created_other
            deleted = side == deleted_side
            upd = updated[side]
            if deleted:
                upd = last_t + int(rnd() * max(0, _BASE - HOUR - last_t) / 2)
            records.append(
                self._record(side, ser[side], name, email, fields, made, upd, deleted=deleted)
            )

        if kind == _PAIR_EXCLUDED and (upsert or rnd() < 0.2):
            # The a-record matched when it was synced, then changed: old version first.
            later = records[_A]
            old_fields = self._builders[_A](rnd, p, True, None)
            change = self._slot_time(excluded_slot, i, e0) - lag  # > link: see _rounds_after
            old = dict(later, fields=old_fields, updated_at=self._ts(max(link, change - 5 * DAY)))
            later["updated_at"] = self._ts(change)
            records[_A] = old
            self._changes.append(later)
        elif upsert or (kind == _SYNCED and rnd() < 0.003):
            # A detail of the source record changed (a phone number, a list) after a sync.
            new_t = max(updated[origin], created + HOUR)
            if new_t < _BASE - MINUTE:
                later = records[origin]
                old = dict(later, fields=_changed_fields(rnd, later["fields"]))
                old["updated_at"] = self._ts(max(created, new_t - 3 * DAY))
                later["updated_at"] = self._ts(new_t)
                records[origin] = old
                self._changes.append(later)

        flags = _F_MAPPED | (_F_PRE if pre else 0)
        if kind == _PAIR_UNLINKED:
            flags |= _F_REMOVED
            self._removed.append(len(self._plan))
            self.visible += 1 if self._one_way else 2
        else:
            self.visible += 1
        self._store(plan, e0, link, ser[_A], ser[_B], flags)
        if kind in (_SYNCED, _RECOVERED, _PAIR_FAILING) and p.email:
            for side in (_A,) if self._one_way else (_A, _B):
                self._dup_pool[side].append((p.email, p.first, p.last, created))
        return records

    def _single(self, i: int, kind: int) -> list[dict[str, Any]]:
        rnd = self._rnd
        spec = self._spec
        if kind == _NO_MATCH:
            if spec.constrained[_B] and rnd() < 0.45:
                side = _B
            else:
                side = _A
        elif kind == _NO_EMAIL or self._one_way:
            side = _A
        else:
            side = _A if rnd() < 0.6 else _B

        pool = self._dup_pool[side]
        if kind == _DUPLICATE and not pool:
            kind = _PENDING if rnd() < 0.5 else _FAILING
        if kind == _PENDING:
            low, high = spec.pending
            created = _BASE - low + int(rnd() * (low - high))
        else:
            created = self._created(i)

        p = self._person(i)
        email: str | None = self._messy(p.email)
        absent = False
        original_created = 0
        if kind == _DUPLICATE:
            orig_email, first, last, original_created = _pick(rnd, pool)
            p.email, p.first, p.last = orig_email, first, last
            p.name = f"{first} {last}".strip() if rnd() < 0.7 else f"{first} {last}".lower()
            email = self._duplicate_email(orig_email)
            created = max(created, original_created + 1)
        elif kind == _NO_EMAIL:
            variant = self._cycle[0] % 4
            self._cycle[0] += 1
            email = ("", None, None, "   ")[variant]
            absent = variant == 2
            p.email = ""

        e0, pre = (0, False) if kind == _PENDING else self._first_event(i, created)
        plan = 0
        bad: str | None = None
        blank = False
        bit = _B_BIT if side else 0
        if kind == _FAILING:
            error, bad = self._error(i, 0, 1 - side, "create", p)
            blank = error["message"] == "Name must be given."
            email = self._messy(p.email)
            plan = (_FAILED | bit) << 0
            for slot in self._rounds_after(i, e0):
                if rnd() < 0.3:
                    self._errors[i * 16 + slot] = error
                    plan |= (_FAILED | bit) << (4 * slot)
        elif kind == _NO_MATCH:
            plan = (_EXCLUDED | bit) if rnd() < 0.85 else 0
        elif kind == _NO_EMAIL:
            plan = _EXCLUDED | bit
        elif kind == _DUPLICATE:
            plan = _DUP | bit

        match = kind != _NO_MATCH if spec.constrained[side] else None
        fields = self._builders[side](rnd, p, match, bad)
        name = self._display_name(side, p, fields, blank=blank)
        if plan:
            updated = created + int(rnd() * (e0 - created))
        elif kind == _PENDING:
            updated = created
        else:
            updated = created + int(rnd() * (self._last - created) / 3)
        deleted = kind == _NO_MATCH and rnd() < 0.04
        serial = self._take_serial(side)
        record = self._record(
            side, serial, name, email, fields, created, updated, deleted=deleted, absent=absent
        )
        self._store(
            plan,
            e0,
            0,
            serial if side == _A else -1,
            serial if side == _B else -1,
            _F_PRE if pre else 0,
        )
        if not deleted:  # deleted before ever being mapped: hidden (README, "Semantics")
            self.visible += 1
        if kind == _FAILING and p.email and (not self._one_way or side == _A):
            self._dup_pool[side].append((p.email, p.first, p.last, created))
        return [record]

    def _hidden(self, i: int) -> list[dict[str, Any]]:
        """A record only in the target app of a one-way connection: never shown."""
        rnd = self._rnd
        created = self._created(i)
        p = self._person(i)
        fields = self._builders[_B](rnd, p, None, None)
        name = self._display_name(_B, p, fields)
        serial = self._take_serial(_B)
        updated = created + int(rnd() * (self._last - created) / 2)
        record = self._record(
            _B, serial, name, self._messy(p.email), fields, created, updated,
            deleted=rnd() < 0.04,
        )  # fmt: skip
        self._store(0, 0, 0, -1, serial, 0)
        return [record]
