"""The admin deliberately shows no one's personal data: people are managed through
access-logged views, not through generic admin pages. allauth's own admin pages for
email addresses and authenticators are removed for the same reason."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group as AuthGroup

for model in (AuthGroup, EmailAddress, Authenticator):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
