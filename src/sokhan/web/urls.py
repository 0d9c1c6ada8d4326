from django.urls import path
from django.views.i18n import set_language

from sokhan.web.views import account, audit, auth, members, tokens, workspace

app_name = "web"

urlpatterns = [
    path("", workspace.home, name="home"),
    # First start and authentication
    path("setup/<str:token>/", auth.setup_view, name="setup"),
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.login_code_view, name="login_code"),
    path("logout/", auth.logout_view, name="logout"),
    path("language/", set_language, name="set_language"),
    path("password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/complete/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # The user's own account
    path("account/", account.profile, name="account"),
    path("account/password/", account.password_change, name="account_password"),
    path("account/two-factor/", account.two_factor, name="account_two_factor"),
    path("account/two-factor/disable/", account.two_factor_disable, name="account_two_factor_disable"),
    # Workspaces
    path("workspaces/new/", workspace.workspace_new, name="workspace_new"),
    path("invite/<str:token>/", members.invitation_view, name="invitation"),
    path("w/<slug:ws>/", workspace.overview, name="workspace"),
    path("w/<slug:ws>/leave/", workspace.leave, name="workspace_leave"),
    path("w/<slug:ws>/settings/", workspace.settings_view, name="settings"),
    path("w/<slug:ws>/members/", members.members, name="members"),
    path("w/<slug:ws>/members/invite/", members.member_invite, name="member_invite"),
    path("w/<slug:ws>/members/<int:member_id>/role/", members.member_role, name="member_role"),
    path("w/<slug:ws>/members/<int:member_id>/remove/", members.member_remove, name="member_remove"),
    path(
        "w/<slug:ws>/invitations/<int:invitation_id>/revoke/",
        members.invitation_cancel,
        name="invitation_revoke",
    ),
    path("w/<slug:ws>/audit/", audit.audit_log, name="audit"),
    path("w/<slug:ws>/audit/export.csv", audit.audit_export, name="audit_export"),
    path("w/<slug:ws>/tokens/", tokens.tokens, name="tokens"),
    path("w/<slug:ws>/tokens/<int:token_id>/revoke/", tokens.token_revoke_view, name="token_revoke"),
]
