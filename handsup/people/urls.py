from django.urls import path

from handsup.people import offline_views, onboarding

app_name = "people"
urlpatterns = [
    # Putting your hand up, in four steps.
    path("hand-up/", onboarding.hand_up, name="hand_up"),
    path("hand-up/skills/", onboarding.skills, name="skills"),
    path("hand-up/when/", onboarding.when, name="when"),
    path("hand-up/contact/", onboarding.contact, name="contact"),
    # Your own profile, each section edited on its own page.
    path("me/profile/", onboarding.profile, name="profile"),
    path("me/profile/skills/", onboarding.skills, {"editing": True}, name="profile_skills"),
    path("me/profile/availability/", onboarding.when, {"editing": True}, name="profile_when"),
    path("me/profile/contact/", onboarding.contact, {"editing": True}, name="profile_contact"),
    path("me/profile/about/", onboarding.about, name="profile_about"),
    path("me/profile/travel/", onboarding.travel, name="profile_travel"),
    path("me/profile/dates-away/", onboarding.dates_away, name="dates_away"),
    # People who are not online: registered by an organiser, claimed later.
    path(
        "groups/manage/<str:public_id>/people/new/",
        offline_views.register_offline_person,
        name="register_offline",
    ),
    path(
        "groups/manage/<str:public_id>/people/<str:person_id>/",
        offline_views.offline_person,
        name="offline_person",
    ),
    path(
        "groups/manage/<str:public_id>/people/<str:person_id>/letter/",
        offline_views.claim_letter,
        name="claim_letter",
    ),
    path("claim/", offline_views.claim_account, name="claim"),
    path("sign-up-form/", offline_views.printable_signup_form, name="signup_form"),
    path("me/profile/print/", offline_views.printable_profile, name="printable_profile"),
]
