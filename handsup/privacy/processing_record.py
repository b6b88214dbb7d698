"""The record of processing (UK GDPR Article 30), built from what the code knows.

One row per processing activity: every purpose in the purposes register (the consent
purposes people choose), then the processing that needs no consent (accounts, group
membership, the logs, delivering messages, imports, answering rights requests).

Nothing here is typed twice if the code already knows it: the lawful basis and the
special-category condition come from the register, the categories of data are the
field inventory's export sections, and retention periods are read from settings, the
groups' own policies and the constants the retention code uses. What the code can't
derive — which categories of data a purpose uses, who the people and recipients are —
is declared below, next to the standard purposes, and `test_record.py` fails if a
purpose in the register or a section of the inventory is missing from the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max, Min

from handsup.groups.models import Group, MovementLimits
from handsup.imports.models import IMPORT_FILES_KEPT
from handsup.needs.models import GRANT_DAYS_AFTER_NEED, GRANT_MAX_DAYS, INVITATION_LIFETIME_DAYS
from handsup.privacy.inventory import EXPORT_SECTION_TITLES, ExportSection, inventory
from handsup.privacy.models import Purpose
from handsup.privacy.register import PurposeCode

LAWFUL_BASIS_WORDS: dict[str, str] = {
    Purpose.LawfulBasis.CONSENT: "Consent (UK GDPR Article 6(1)(a))",
    Purpose.LawfulBasis.LEGITIMATE_INTERESTS: "Legitimate interests (UK GDPR Article 6(1)(f))",
    Purpose.LawfulBasis.CONTRACT: "Contract: providing what the person asked for "
    "(UK GDPR Article 6(1)(b))",
    Purpose.LawfulBasis.LEGAL_OBLIGATION: "Legal obligation (UK GDPR Article 6(1)(c))",
}

# The Article 9 condition for what needs no consent: the movement is a not-for-profit body
# with a political aim, processing data about its members and the people in regular
# contact with it, and disclosing nothing outside it without consent.
NOT_FOR_PROFIT_BODY = (
    "Not-for-profit body with a political aim (UK GDPR Article 9(2)(d)): about members, "
    "former members and people in regular contact with the movement, never disclosed "
    "outside it without consent."
)

# Categories of people.
VOLUNTEERS = "Volunteers"
MEMBERS = "Members of groups (and people asking to join)"
ORGANISERS = "Organisers and admins of groups"
MOVEMENT_ROLES = "Movement-wide roles (data protection officer, curators, platform admins)"
IMPORTED_PEOPLE = "People on lists a group imports"
REQUESTERS = "People making data-protection requests"

# Which export sections (field inventory) each standard purpose uses. The register says
# why and on what basis; only this mapping says which data. A purpose added in the admin
# shows as "not declared" in the record until it is added here.
PURPOSE_DATA_SECTIONS: dict[str, tuple[str, ...]] = {
    PurposeCode.FOUND_MOVEMENT: ("profile", "needs", "consents"),
    PurposeCode.FOUND_MY_GROUPS: ("profile", "groups", "needs", "consents"),
    PurposeCode.GROUP_EMAIL: ("account", "messages", "consents"),
    PurposeCode.GROUP_PHONE: ("profile", "consents"),
    PurposeCode.GROUP_POST: ("profile", "consents"),
    PurposeCode.SHARE_CONTACT_WITH_GROUP: ("account", "profile", "consents"),
}

UNDECLARED = "Not declared yet: add this purpose to PURPOSE_DATA_SECTIONS"


@dataclass(frozen=True)
class ProcessingActivity:
    """One row of the record."""

    key: str  # the purpose's code, or the activity's own code
    purpose: str
    description: str
    lawful_basis: str
    special_category_condition: str
    data_categories: tuple[str, ...]  # export section titles
    people: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: str
    safeguards: tuple[str, ...]
    needs_consent: bool

    def cells(self) -> list[str]:
        """The row as the CSV and the table show it."""
        return [
            self.purpose,
            self.description,
            self.lawful_basis,
            self.special_category_condition,
            "; ".join(self.data_categories),
            "; ".join(self.people),
            "; ".join(self.recipients),
            self.retention,
            "; ".join(self.safeguards),
        ]


HEADER = [
    "Purpose",
    "What we do",
    "Lawful basis",
    "Special-category condition",
    "Categories of data",
    "Categories of people",
    "Recipients",
    "Retention",
    "Safeguards",
]


@dataclass(frozen=True)
class RetentionFacts:
    """The periods the code enforces, read once per record."""

    group_retention_min: int
    group_retention_max: int
    movement_max_months: int
    inactive_months: int
    access_log_months: int
    export_days: int
    import_file_days: int

    @classmethod
    def read(cls) -> RetentionFacts:
        spread = Group.objects.aggregate(low=Min("retention_months"), high=Max("retention_months"))
        default = Group._meta.get_field("retention_months").get_default()
        # Read, never created: a GET must not write the limits row.
        limits = MovementLimits.objects.filter(pk=1).first()
        movement_max = (
            limits.max_retention_months
            if limits is not None
            else MovementLimits._meta.get_field("max_retention_months").get_default()
        )
        return cls(
            group_retention_min=spread["low"] if spread["low"] is not None else default,
            group_retention_max=spread["high"] if spread["high"] is not None else default,
            movement_max_months=movement_max,
            inactive_months=getattr(settings, "HANDSUP_INACTIVE_MONTHS", 24),
            access_log_months=getattr(settings, "HANDSUP_ACCESS_LOG_MONTHS", 24),
            export_days=getattr(settings, "HANDSUP_EXPORT_DAYS", 7),
            import_file_days=IMPORT_FILES_KEPT.days,
        )

    def group_period(self) -> str:
        if self.group_retention_min == self.group_retention_max:
            spread = f"{self.group_retention_min} months"
        else:
            spread = f"between {self.group_retention_min} and {self.group_retention_max} months"
        return (
            f"each group publishes how long it keeps an ex-member's details (now {spread}), "
            f"never more than the movement's limit of {self.movement_max_months} months"
        )

    def account_period(self) -> str:
        return (
            "until the person deletes their account; someone inactive for "
            f"{self.inactive_months} months is asked whether to keep it, and erased if "
            "they don't answer"
        )


def email_provider() -> str:
    """Who delivers our email, in words, from the mail backend configured."""
    mailers: dict[str, dict[str, Any]] = getattr(settings, "MAILERS", {})
    backend = str(mailers.get("default", {}).get("BACKEND") or "")
    backend = backend or str(getattr(settings, "EMAIL_BACKEND", ""))
    if backend.startswith("anymail.backends."):
        provider = backend.removeprefix("anymail.backends.").split(".")[0]
        return f"The email delivery provider ({provider.capitalize()}, through django-anymail)"
    if backend.endswith("smtp.EmailBackend"):
        return "The email delivery provider (the SMTP relay this deployment is configured with)"
    return f"The email delivery provider (mail backend {backend or 'not configured'})"


HOSTING = "The hosting provider that runs the servers and the database (a processor)"


def encryption_in_transit() -> str:
    if getattr(settings, "SESSION_COOKIE_SECURE", False) and settings.SECURE_HSTS_SECONDS:
        return (
            "Encrypted in transit: HTTPS only, with HSTS "
            f"({settings.SECURE_HSTS_SECONDS} seconds) and secure cookies"
        )
    return "Encryption in transit is NOT enforced by this deployment's settings (no HTTPS)"


CONSENT_GATING = (
    "Consent checked in code before every use, per purpose and per group; withdrawn at "
    "any time from “Your data”, with the wording and notice version kept"
)
ACCESS_LOG = (
    "Every read of a person's data by someone else is written to the access log, which "
    "the person can see"
)
PSEUDONYMOUS = (
    "Pseudonymous until the person says yes: groups see skills, a distance band and free "
    "time, never a name, address or contact details"
)
PACING = (
    "Pacing: one movement-wide limit on asks and the person's own limit; anything over "
    "waits for the digest"
)
MFA = "Two-factor authentication required of organisers, group admins and movement-wide roles"
ERASURE = (
    "Erasure from the person's account pages: every field deleted or anonymised as the "
    "field inventory says; only a keyed hash of the email address is kept, so it is "
    "never mailed or imported again"
)
EXPORT = "Download-my-data from the person's account pages"
LEAST_DATA = "Distance bands, never addresses, for anyone but the person"


def _section_titles(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(
        EXPORT_SECTION_TITLES.get(code, code.replace("_", " ").capitalize()) for code in codes
    )


def _purpose_activity(purpose: Purpose, facts: RetentionFacts, mail: str) -> ProcessingActivity:
    sections = PURPOSE_DATA_SECTIONS.get(purpose.code)
    group_scoped = purpose.scope == Purpose.Scope.GROUP
    recipients: tuple[str, ...]
    if purpose.channel == "email":
        recipients = ("The group the consent is given to", mail, HOSTING)
    elif group_scoped:
        recipients = ("Organisers and admins of the group the consent is given to", HOSTING)
    else:
        recipients = (
            "Organisers of the groups that may find the person: skills, distance band and "
            "free time only",
            "After a yes to a need, that group: name and the contact details chosen, for "
            f"the need, ending {GRANT_DAYS_AFTER_NEED} days after it (at most "
            f"{GRANT_MAX_DAYS} days)",
            HOSTING,
        )
    safeguards = [CONSENT_GATING, ACCESS_LOG, ERASURE]
    if purpose.code in (PurposeCode.FOUND_MOVEMENT, PurposeCode.FOUND_MY_GROUPS):
        safeguards[1:1] = [PSEUDONYMOUS, LEAST_DATA, PACING]
    elif purpose.channel == "email":
        safeguards[1:1] = [PACING, "An unsubscribe link in every email"]
    retention = "while the consent stands; withdrawing stops the use at once"
    if purpose.code in (PurposeCode.FOUND_MOVEMENT, PurposeCode.FOUND_MY_GROUPS):
        retention += f"; an ask expires after {INVITATION_LIFETIME_DAYS} days"
    if group_scoped:
        retention += f"; after the person leaves the group, {facts.group_period()}"
    retention += "; the consent history itself is kept as evidence until the account is erased"
    return ProcessingActivity(
        key=purpose.code,
        purpose=purpose.name,
        description=purpose.text,
        lawful_basis=LAWFUL_BASIS_WORDS.get(purpose.lawful_basis, purpose.lawful_basis),
        special_category_condition=purpose.special_category_condition or "None",
        data_categories=_section_titles(sections) if sections is not None else (UNDECLARED,),
        people=(VOLUNTEERS, MEMBERS) if group_scoped else (VOLUNTEERS,),
        recipients=recipients,
        retention=retention[0].upper() + retention[1:] + ".",
        safeguards=tuple(safeguards),
        needs_consent=purpose.lawful_basis == Purpose.LawfulBasis.CONSENT,
    )


def _without_consent(facts: RetentionFacts, mail: str) -> list[ProcessingActivity]:
    """The processing that needs no consent: what people keep if they agree to nothing."""
    everyone = (VOLUNTEERS, MEMBERS, ORGANISERS, MOVEMENT_ROLES)
    return [
        ProcessingActivity(
            key="accounts",
            purpose="Accounts and sign-in",
            description="The account a person opens: their name, email address, sign-in "
            "methods (password, two-factor authentication) and sessions.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.CONTRACT],
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["account"]),
            people=everyone,
            recipients=(mail + ": sign-in and account emails", HOSTING),
            retention=facts.account_period()[0].upper() + facts.account_period()[1:] + ".",
            safeguards=(
                MFA,
                "Passwords stored only as salted hashes",
                encryption_in_transit(),
                ERASURE,
                EXPORT,
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="membership",
            purpose="Group membership and roles",
            description="Which groups a person belongs to, asked to join or was invited "
            "to, and their role there; movement-wide roles.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGITIMATE_INTERESTS],
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["groups"]),
            people=everyone,
            recipients=(
                "Organisers and admins of the person's groups: that the group has a member, "
                "and nothing to contact them by, unless the person agreed to share it",
                HOSTING,
            ),
            retention=(f"While the person is a member; after they leave, {facts.group_period()}."),
            safeguards=(ACCESS_LOG, MFA, ERASURE, EXPORT),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="logs",
            purpose="Access log and audit log",
            description="Who read whose personal data, when and why; who did what to which "
            "record, in which group. Accountability for everything else on this page.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGAL_OBLIGATION]
            + ": accountability and security (Articles 5(2), 24 and 32)",
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["who_has_seen_me", "activity", "consents"]),
            people=everyone,
            recipients=(
                "The person themselves (their ledger)",
                "The data protection officer",
                HOSTING,
            ),
            retention=(
                f"Access log: {facts.access_log_months} months; a person's erasure deletes "
                "the reads of their data. Audit log: kept as the record of what was done; "
                "a person's erasure anonymises every mention of them."
            ),
            safeguards=(
                "Append-only: a row, once written, is never changed",
                "Audit details hold codes and public ids, never names or contact details",
                "Not in the admin; read only through the person's ledger and the data "
                "protection officer's views",
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="delivery",
            purpose="Delivering messages and honouring unsubscribes",
            description="Sending the emails people agreed to, recording what was sent or "
            "held back, and keeping unsubscribes, bounces and complaints so we never write "
            "again where we must not.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGAL_OBLIGATION]
            + ": honouring objections to direct marketing (PECR, UK GDPR Article 21)",
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["messages"]),
            people=(VOLUNTEERS, MEMBERS),
            recipients=(mail, HOSTING),
            retention=(
                "What was sent or held back: until the account is erased. Unsubscribes and "
                "suppressions: kept, so that the address is never mailed again."
            ),
            safeguards=(
                PACING,
                "An unsubscribe link in every email; bounces and complaints suppress the address",
                ERASURE,
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="imports",
            purpose="Importing lists a group already holds",
            description="A group uploads a list of its people (with the consent each gave "
            "it) so they can be asked to take part.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGITIMATE_INTERESTS]
            + "; each consent imported keeps its source",
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["groups", "files", "activity"]),
            people=(IMPORTED_PEOPLE, ORGANISERS),
            recipients=("The importing group's organisers", HOSTING),
            retention=(
                f"Uploaded files and rejected-rows reports: {facts.import_file_days} days. "
                "The import's record keeps counts, and nothing that names anyone."
            ),
            safeguards=(
                "Addresses of erased people are left out",
                "Reports handed out as formula-safe CSV",
                MFA,
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="stories",
            purpose="Stories of what groups did",
            description="A member tells a local story (what happened, where to the "
            "postcode district, pictures, the people it names); curators review it and, "
            "once published, anyone can read it, in feeds and digests too. A story can ask "
            "for help to be told, and helpers may choose to be named on it.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.CONSENT]
            + ": the author sends the story and chooses what is in it; people it names are "
            "shown by name only when the author records that they agreed",
            special_category_condition=NOT_FOR_PROFIT_BODY
            + "; once published, made public by the author (Article 9(2)(e))",
            data_categories=_section_titles(["stories"]),
            people=(MEMBERS, VOLUNTEERS, "People a story names", MOVEMENT_ROLES),
            recipients=(
                "Story curators, before publication",
                "Everyone, once a curator publishes it: the story page, its feeds and "
                "volunteers' digests",
                HOSTING,
            ),
            retention=(
                "Until the author deletes their account, which deletes their stories with "
                "their pictures; a curator can take a story down at any time."
            ),
            safeguards=(
                "Nothing is published before a curator reviews it",
                "Names held back unless the person agreed; a story that still names them "
                "can't be published",
                "Pictures re-encoded, which removes location and camera data",
                ERASURE,
                EXPORT,
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="platform",
            purpose="Groups' own systems: the API and webhooks",
            description="A group's admins connect the group's own tools: API tokens read "
            "and change the group's needs and invitations, and webhooks tell the group's "
            "systems when someone joins, leaves or says yes. Tools in the movement's "
            "registry list the people who maintain them.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGITIMATE_INTERESTS]
            + ": the group runs its work with its own tools, seeing no more than it could "
            "on its pages",
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["who_has_seen_me", "activity"]),
            people=(MEMBERS, VOLUNTEERS, ORGANISERS),
            recipients=(
                "The group's own systems, through its API tokens (only what its consents "
                "and grants allow, access-logged) and its webhook endpoints (public ids "
                "and statuses, never contact details)",
                HOSTING,
            ),
            retention=(
                "Webhook deliveries about a person: until their erasure, which deletes "
                "them. API calls: kept with the token; they name no one."
            ),
            safeguards=(
                "Tokens scoped to one group and chosen scopes, with an expiry; stored "
                "only as a hash; revocable",
                "Webhooks signed (Standard Webhooks) and sent only to HTTPS addresses "
                "on public networks, checked again at each delivery",
                ACCESS_LOG,
                ERASURE,
                EXPORT,
            ),
            needs_consent=False,
        ),
        ProcessingActivity(
            key="rights",
            purpose="Answering data-protection requests",
            description="Download my data, erasure, rectification and objections, however "
            "they arrive, on the data protection officer's desk.",
            lawful_basis=LAWFUL_BASIS_WORDS[Purpose.LawfulBasis.LEGAL_OBLIGATION]
            + ": UK GDPR Articles 12 to 22",
            special_category_condition=NOT_FOR_PROFIT_BODY,
            data_categories=_section_titles(["files", "activity", "account"]),
            people=(REQUESTERS, VOLUNTEERS, MEMBERS),
            recipients=("The person themselves", "The data protection officer", HOSTING),
            retention=(
                f"Downloads: {facts.export_days} days, then the file is deleted. Requests: "
                "the requester's own description is cleared when the request is closed."
            ),
            safeguards=(
                "Identity checked before anything is done",
                "Statutory deadlines tracked (one month, extendable with a recorded reason)",
                MFA,
            ),
            needs_consent=False,
        ),
    ]


def record_of_processing() -> list[ProcessingActivity]:
    """Every row of the record: the register's purposes, then what needs no consent."""
    facts = RetentionFacts.read()
    mail = email_provider()
    purposes = [_purpose_activity(p, facts, mail) for p in Purpose.objects.order_by("code")]
    return purposes + _without_consent(facts, mail)


def data_categories() -> list[ExportSection]:
    """The categories of data: the field inventory's export sections, with their fields."""
    return inventory.export_sections()


def undeclared_purposes(rows: list[ProcessingActivity]) -> list[str]:
    """Codes of purposes in the register whose data categories nobody has declared."""
    return [row.key for row in rows if UNDECLARED in row.data_categories]


def unrecorded_sections(rows: list[ProcessingActivity]) -> list[str]:
    """Inventory sections that no row of the record lists among its data."""
    listed = {category for row in rows for category in row.data_categories}
    return [section.title for section in data_categories() if section.title not in listed]
