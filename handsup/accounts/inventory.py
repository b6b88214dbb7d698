"""The account's fields in the privacy field inventory (see `handsup.privacy.inventory`).

Also the login tables of allauth and Django that hold our people's data: email
addresses, email confirmations, MFA authenticators and sessions.
"""

from __future__ import annotations

from handsup.privacy.inventory import NOT_EXPORTED, not_personal, personal

# accounts.User
not_personal("accounts.User", "id", why="internal row number, never shown")
not_personal(
    "accounts.User",
    "groups",
    "user_permissions",
    why="Django's permission tables, unused: roles live in groups.Membership and "
    "groups.MovementRole",
)
personal(
    "accounts.User",
    "public_id",
    what="the opaque id that stands for the person in links and logs",
    export_section="account",
    erasure="delete",
)
personal(
    "accounts.User",
    "email",
    what="the email address the person signs in with and is contacted at",
    export_section="account",
    erasure="keep_hashed",
    note="a one-way hash stays on the suppression list so the address is never emailed again",
)
personal(
    "accounts.User",
    "full_name",
    what="the person's name",
    export_section="account",
    erasure="delete",
)
personal(
    "accounts.User",
    "password",
    what="a one-way hash of the password",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="a credential, not information about the person",
)
for flag, what in (
    ("is_active", "whether the account may sign in"),
    ("is_staff", "whether the account may open the admin (platform admins only)"),
    ("is_superuser", "whether the account holds every admin permission (platform admins only)"),
):
    personal("accounts.User", flag, what=what, export_section="account", erasure="delete")
personal(
    "accounts.User",
    "date_joined",
    what="when the account was created",
    export_section="account",
    erasure="delete",
)
personal(
    "accounts.User",
    "last_login",
    what="when the person last signed in",
    export_section="account",
    erasure="delete",
)

# allauth: email addresses and their confirmations.
not_personal("account.EmailAddress", "id", why="internal row number")
personal(
    "account.EmailAddress",
    "user",
    what="whose email address this is",
    export_section="account",
    erasure="delete",
)
personal(
    "account.EmailAddress",
    "email",
    what="an email address of the person",
    export_section="account",
    erasure="keep_hashed",
    note="the row is deleted; like the account's own address, a one-way hash of every "
    "address the person used stays on the suppression list (privacy.ErasedIdentity)",
)
personal(
    "account.EmailAddress",
    "verified",
    what="whether the person confirmed the address",
    export_section="account",
    erasure="delete",
)
personal(
    "account.EmailAddress",
    "primary",
    what="whether this is the address used for contact",
    export_section="account",
    erasure="delete",
)
not_personal("account.EmailConfirmation", "id", why="internal row number")
personal(
    "account.EmailConfirmation",
    "email_address",
    what="the address waiting to be confirmed",
    export_section="account",
    erasure="delete",
)
for name, what in (("created", "when it was created"), ("sent", "when it was sent")):
    personal(
        "account.EmailConfirmation",
        name,
        what=f"an email confirmation: {what}",
        export_section="account",
        erasure="delete",
    )
personal(
    "account.EmailConfirmation",
    "key",
    what="the one-time secret in the confirmation link",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="a credential",
)

# allauth MFA.
not_personal("mfa.Authenticator", "id", why="internal row number")
personal(
    "mfa.Authenticator",
    "user",
    what="whose second factor this is",
    export_section="account",
    erasure="delete",
)
personal(
    "mfa.Authenticator",
    "type",
    what="the kind of second factor (authenticator app, recovery codes)",
    export_section="account",
    erasure="delete",
)
personal(
    "mfa.Authenticator",
    "data",
    what="the second factor's secret and the recovery codes used",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="a credential",
)
personal(
    "mfa.Authenticator",
    "created_at",
    what="when the second factor was set up",
    export_section="account",
    erasure="delete",
)
personal(
    "mfa.Authenticator",
    "last_used_at",
    what="when the second factor was last used",
    export_section="account",
    erasure="delete",
)

# Django sessions: the session data names the signed-in account.
personal(
    "sessions.Session",
    "session_key",
    what="the secret that identifies a signed-in browser",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="a credential",
)
personal(
    "sessions.Session",
    "session_data",
    what="signed session state, including which account is signed in",
    export_section=NOT_EXPORTED,
    erasure="delete",
    note="internal state; erasure deletes every session of the person",
)
not_personal("sessions.Session", "expire_date", why="personal only through session_data")

not_personal(
    "accounts.User",
    "erased_at",
    why="set only on an erased account, once nothing personal is left on the row",
)
