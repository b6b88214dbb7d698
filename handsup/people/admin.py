"""Platform admins curate the skills taxonomy here: edit, add, and merge duplicates.

Only the taxonomy is registered. People, profiles, their skills, dates away and claim
codes are personal data and stay out of the admin, which logs no reads: organisers and
the volunteer see them through views that go through the access log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template import engines
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.people.models import Skill, SkillCategory
from handsup.people.taxonomy import do_merge_skills

# The confirmation page of the merge action. Kept here, next to the only code that
# renders it, and built on the admin's own base so it looks like every other page.
MERGE_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}
<form method="post">{% csrf_token %}
  <p>{{ explanation }}</p>
  <fieldset class="module aligned">
    <legend>{{ question }}</legend>
    {% for skill in skills %}
      <div class="form-row">
        <label><input type="radio" name="keep" value="{{ skill.pk }}"
          {% if forloop.first %}checked{% endif %}>
          {{ skill.name }} ({{ skill.category.name }}): {{ skill.holder_count }}</label>
      </div>
    {% endfor %}
  </fieldset>
  {% for skill in skills %}
    <input type="hidden" name="_selected_action" value="{{ skill.pk }}">
  {% endfor %}
  <input type="hidden" name="action" value="merge_skills">
  <input type="hidden" name="confirm" value="yes">
  <div class="submit-row">
    <input type="submit" class="default" value="{{ button }}">
    <a href="" class="button cancel-link">{{ cancel }}</a>
  </div>
</form>
{% endblock %}
"""


@admin.register(SkillCategory)
class SkillCategoryAdmin(admin.ModelAdmin[SkillCategory]):
    list_display = ["name", "slug", "position", "skill_count"]
    list_editable = ["position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[SkillCategory]:
        return super().get_queryset(request).annotate(skill_total=Count("skills"))

    @admin.display(description=_("skills"), ordering="skill_total")
    def skill_count(self, category: Any) -> int:
        return int(category.skill_total)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin[Skill]):
    list_display = ["name", "category", "synonym_summary"]
    list_filter = ["category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "synonyms"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["merge_skills"]

    @admin.display(description=_("synonyms"))
    def synonym_summary(self, skill: Skill) -> str:
        return ", ".join(skill.synonym_list)

    @admin.action(description=_("Merge the selected skills into one"), permissions=["change"])
    def merge_skills(
        self, request: HttpRequest, queryset: QuerySet[Skill]
    ) -> TemplateResponse | None:
        skills = list(queryset.select_related("category").annotate(holder_count=Count("holders")))
        if len(skills) < 2:
            self.message_user(request, _("Pick at least two skills to merge."), messages.WARNING)
            return None
        if request.POST.get("confirm") != "yes":
            return self._merge_page(request, skills)
        keep = next((s for s in skills if str(s.pk) == request.POST.get("keep")), None)
        if keep is None:
            self.message_user(request, _("Choose which skill to keep."), messages.ERROR)
            return self._merge_page(request, skills)
        people = 0
        for merge in skills:
            if merge.pk != keep.pk:
                people += do_merge_skills(actor=request.user, keep=keep, merge=merge)  # type: ignore[arg-type]
                keep.refresh_from_db()
        self.message_user(
            request,
            ngettext(
                "Merged into %(skill)s; %(count)d person now holds it instead.",
                "Merged into %(skill)s; %(count)d people now hold it instead.",
                people,
            )
            % {"skill": keep.name, "count": people},
            messages.SUCCESS,
        )
        return None

    def _merge_page(self, request: HttpRequest, skills: Sequence[Skill]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Merge skills"),
            "opts": self.model._meta,
            "skills": skills,
            "question": _("Which skill should stay?"),
            "explanation": _(
                "Everyone who holds one of the others will hold the one you keep, at the "
                "higher of their levels; the others' names become its synonyms. The number "
                "after each skill is how many people hold it."
            ),
            "button": _("Merge"),
            "cancel": _("Cancel"),
        }
        template = engines["django"].from_string(MERGE_PAGE)
        return TemplateResponse(request, template, context)  # type: ignore[arg-type]
