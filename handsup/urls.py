from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from handsup.core import views as core_views
from handsup.core.api import api
from handsup.groups import platform_views

# The Django admin logs in through allauth, so the same MFA applies.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("about/", core_views.about, name="about"),
    path("me/", core_views.me, name="me"),
    path("platform/", core_views.platform, name="platform"),
    path("platform/limits/", platform_views.limits, name="platform_limits"),
    path(
        "platform/groups/<str:public_id>/suspend/",
        platform_views.suspend_group,
        name="platform_suspend_group",
    ),
    path(
        "platform/people/<str:public_id>/suspend/",
        platform_views.suspend_person,
        name="platform_suspend_person",
    ),
    path("files/<str:public_id>/", core_views.private_file, name="private_file"),
    path("demo/sent-mail/", core_views.demo_sent_mail, name="demo_sent_mail"),
    path("groups/", include("handsup.groups.urls")),
    path("", include("handsup.people.urls")),
    path("", include("handsup.imports.urls")),
    path("", include("handsup.messaging.urls")),
    path("", include("handsup.needs.urls")),
    path("", include("handsup.stories.urls")),
    path("", include("handsup.platform.urls")),
    path("my-data/", include("handsup.privacy.urls")),
    path("dpo/", include("handsup.privacy.urls_dpo")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

if settings.ANYMAIL_WEBHOOKS:
    # The mail provider's bounce and complaint events (no session: HTTP basic auth with
    # ANYMAIL_WEBHOOK_SECRET); `messaging.tracking` acts on them.
    urlpatterns += [path("anymail/", include("anymail.urls"))]

if settings.DEBUG:
    # Public media only; private files have no URL at all.
    urlpatterns += [
        re_path(
            r"^media/(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT / "public"},
        )
    ]
