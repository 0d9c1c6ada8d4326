"""Channel forms. The connect form is generated from the connector's ``credential_fields``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokhan.channels.models import Channel
from sokhan.networks.base import Connector
from sokhan.networks.types import AuthKind, Capability

CAPABILITY_LABELS: dict[Capability, str | Promise] = {
    Capability.PUBLISH_TEXT: _("Text posts"),
    Capability.PUBLISH_IMAGE: _("Images"),
    Capability.PUBLISH_VIDEO: _("Video"),
    Capability.PUBLISH_THREAD: _("Threads"),
    Capability.PUBLISH_REPLY: _("Posts as replies"),
    Capability.FIRST_COMMENT: _("First comment"),
    Capability.DELETE: _("Delete posts"),
    Capability.COMMENTS: _("Comments"),
    Capability.DMS: _("Direct messages"),
    Capability.MENTIONS: _("Mentions"),
    Capability.REPLY: _("Replies"),
    Capability.REPLY_MEDIA: _("Media in replies"),
    Capability.SEND_DM: _("Send direct messages"),
    Capability.DM_MEDIA: _("Media in direct messages"),
    Capability.PRIVATE_REPLY: _("Private replies to commenters"),
    Capability.LIKE: _("Likes"),
    Capability.HIDE: _("Hide comments"),
    Capability.SEARCH: _("Search"),
    Capability.HASHTAG: _("Hashtag timelines"),
    Capability.POST_METRICS: _("Post metrics"),
    Capability.ACCOUNT_METRICS: _("Account metrics"),
    Capability.PROFILE_READ: _("Profile"),
    Capability.PROFILE_UPDATE: _("Edit profile"),
    Capability.RECONCILE: _("Finds its own posts after a crash"),
}

AUTH_LABELS: dict[AuthKind, str | Promise] = {
    AuthKind.OAUTH2_PKCE: _("Sign in at the network"),
    AuthKind.OAUTH2: _("Sign in at the network"),
    AuthKind.APP_PASSWORD: _("App password"),
    AuthKind.BOT_TOKEN: _("Bot token"),
    AuthKind.ACCESS_TOKEN: _("Access token"),
    AuthKind.NONE: _("No sign-in needed"),
}

ACCOUNT_ATTRS = ("base_url", "remote_id", "handle", "target")


def capability_labels(cls: type[Connector]) -> list[str]:
    return [str(CAPABILITY_LABELS[c]) for c in Capability if c in cls.capabilities]


class CredentialsForm(forms.Form):
    """One field per ``credential_fields`` entry (secrets as password inputs, never re-rendered).

    ``secrets=False`` keeps only the plain fields (the values needed before signing in at the
    network, such as the server address). On a reconnect the account's own values are kept
    unless typed again, so those fields are optional."""

    def __init__(
        self,
        cls: type[Connector],
        *args: Any,
        secrets: bool = True,
        reconnect: Channel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        names = set()
        for field in cls.credential_fields:
            if field.secret and not secrets:
                continue
            names.add(field.name)
            kept = reconnect is not None and field.name in ACCOUNT_ATTRS
            widget: forms.Widget = (
                forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)
                if field.secret
                else forms.TextInput(attrs={"dir": "ltr"} if field.name == "base_url" else {})
            )
            self.fields[field.name] = forms.CharField(
                label=field.label,
                help_text=field.help,
                required=field.required and not kept,
                strip=True,
                max_length=4000,
                widget=widget,
                initial=getattr(reconnect, field.name, "") if kept and reconnect is not None else None,
            )
        if not secrets and "target" not in names and reconnect is None:
            self.fields["target"] = forms.CharField(
                label=_("Page, organisation or board (optional)"),
                help_text=_("Only if the network needs to know which page or account Sokhan acts as."),
                required=False,
                max_length=255,
            )

    def values(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.cleaned_data.items() if v}


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=300, required=False)
    bio = forms.CharField(label=_("Bio"), widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)
    url = forms.CharField(
        label=_("Link"), required=False, max_length=1000, widget=forms.TextInput(attrs={"dir": "ltr"})
    )


class TestPostForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10000,
        initial="",
    )


class StandardForm(forms.Form):
    brand_name = forms.CharField(
        label=_("Brand name"),
        required=False,
        max_length=200,
        help_text=_("Every profile's display name should include it."),
    )
    link = forms.CharField(
        label=_("Link"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
        help_text=_("Every profile should link here. Empty: the link most profiles use."),
    )
    bio_keywords = forms.CharField(
        label=_("Bio keywords"),
        required=False,
        max_length=2000,
        help_text=_("One per line, or separated by commas. Every bio should contain them."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def keywords(self) -> list[str]:
        raw = str(self.cleaned_data.get("bio_keywords") or "")
        parts = raw.replace("،", ",").replace("\n", ",").split(",")
        return [p.strip() for p in parts if p.strip()]


class OAuthAppForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"))
    base_url = forms.CharField(
        label=_("Server address"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
        help_text=_("Only for networks where each server has its own apps (for example Mastodon)."),
    )
    client_id = forms.CharField(label=_("Client id"), max_length=500, widget=forms.TextInput(attrs={"dir": "ltr"}))
    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the secret already saved."),
    )

    def __init__(self, networks: list[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["network"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = networks
