"""The workspace's brand rules page: banned words, the required disclosure (sponsored posts only
or every post), the most hashtags a post may have, and for each kind of rule whether a finding is
a warning or stops scheduling. ``sokhan.publishing.brand_rules`` validates, saves and audits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from sokhan.core.errors import DomainError
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.publishing.brand_rules import MAX_HASHTAGS_LIMIT, brand_rules_for, brand_rules_save, brand_rules_saved
from sokhan.publishing.rules import BrandRules
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip

WARNING, BLOCKING = "warning", "blocking"
SEVERITY_CHOICES = [
    (WARNING, gettext_lazy("Warning: shown in the composer, does not stop scheduling")),
    (BLOCKING, gettext_lazy("Blocking: the post cannot be scheduled until it is fixed")),
]
SPONSORED, EVERY_POST = "sponsored", "all"
SCOPE_CHOICES = [
    (SPONSORED, gettext_lazy("Sponsored posts only (marked “Sponsored” in the composer)")),
    (EVERY_POST, gettext_lazy("Every post")),
]

# Rule kind → the form field choosing its severity.
SEVERITY_FIELDS = {
    "banned_word": "banned_word_severity",
    "missing_disclosure": "missing_disclosure_severity",
    "too_many_hashtags": "too_many_hashtags_severity",
}
# Field named by the service's error → the form field it belongs to.
ERROR_FIELDS = {
    "banned_words": "banned_words",
    "required_disclosure": "required_disclosure",
    "disclosure_applies_to_sponsored": "disclosure_applies",
    "max_hashtags": "max_hashtags",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class BrandRulesForm(forms.Form):
    banned_words = forms.CharField(
        label=gettext_lazy("Banned words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=gettext_lazy(
            "One word or phrase per line. Whole words only («کار» is not found in «کارخانه»); Arabic and "
            "Persian letter forms, digits and the half space are treated alike, so «کتاب» also finds «کتاب‌ها»."
        ),
    )
    banned_word_severity = forms.ChoiceField(
        label=gettext_lazy("When a banned word is found"), choices=SEVERITY_CHOICES, widget=forms.RadioSelect
    )
    required_disclosure = forms.CharField(
        label=gettext_lazy("Required disclosure"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text=gettext_lazy(
            "One per line; any one of them satisfies the rule (for example «#تبلیغ» or #ad). "
            "Leave empty to require none."
        ),
    )
    disclosure_applies = forms.ChoiceField(
        label=gettext_lazy("The disclosure is required on"), choices=SCOPE_CHOICES, widget=forms.RadioSelect
    )
    missing_disclosure_severity = forms.ChoiceField(
        label=gettext_lazy("When the disclosure is missing"), choices=SEVERITY_CHOICES, widget=forms.RadioSelect
    )
    max_hashtags = forms.IntegerField(
        label=gettext_lazy("Most hashtags in a post"),
        required=False,
        min_value=0,
        max_value=MAX_HASHTAGS_LIMIT,
        widget=forms.NumberInput(attrs={"dir": "ltr", "inputmode": "numeric"}),
        help_text=gettext_lazy("Leave empty for no limit."),
    )
    too_many_hashtags_severity = forms.ChoiceField(
        label=gettext_lazy("When a post has more hashtags"), choices=SEVERITY_CHOICES, widget=forms.RadioSelect
    )

    @staticmethod
    def initial_for(rules: BrandRules) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "banned_words": "\n".join(rules.banned_words),
            "required_disclosure": "\n".join(rules.required_disclosure),
            "disclosure_applies": SPONSORED if rules.disclosure_applies_to_sponsored else EVERY_POST,
            "max_hashtags": rules.max_hashtags,
        }
        for kind, name in SEVERITY_FIELDS.items():
            initial[name] = BLOCKING if kind in rules.blocking else WARNING
        return initial

    def rules_data(self) -> dict[str, Any]:
        """The cleaned form as ``BrandRules.as_json`` writes rules."""
        data = self.cleaned_data
        return {
            "banned_words": _lines(data["banned_words"]),
            "required_disclosure": _lines(data["required_disclosure"]),
            "disclosure_applies_to_sponsored": data["disclosure_applies"] == SPONSORED,
            "max_hashtags": data["max_hashtags"],
            "blocking": sorted(kind for kind, name in SEVERITY_FIELDS.items() if data[name] == BLOCKING),
        }

    def add_domain_error(self, error: DomainError) -> None:
        placed = False
        for key, message in error.fields.items():
            name = ERROR_FIELDS.get(key)
            if name is not None:
                self.add_error(name, message)
                placed = True
        if not placed:
            self.add_error(None, error.message)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_http_methods(["GET", "POST"])
def brand_rules_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    form = BrandRulesForm(
        request.POST if request.method == "POST" else None,
        initial=BrandRulesForm.initial_for(brand_rules_for(workspace)),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                brand_rules_save(membership, form.rules_data(), ip=client_ip(request))
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(request, _("Brand rules saved."))
                return redirect("publishing:brand_rules", ws=workspace.slug)
        status = 400
    context = workspace_context(membership, "settings", form=form, saved=brand_rules_saved(workspace))
    return render(request, "publishing/brand_rules.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/settings/brand-rules/", brand_rules_view, name="brand_rules"),
]
