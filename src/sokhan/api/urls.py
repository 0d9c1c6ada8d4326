"""The REST API under /api/v1: OpenAPI at ``openapi.json``, interactive docs at ``docs``."""

from sokhan.api.base import SokhanAPI
from sokhan.api.routers import audit, invitations, me, members, tokens, workspaces

api = SokhanAPI(
    title="Sokhan API",
    version="1",
    urls_namespace="api",
    description="Workspaces, members, invitations, tokens and the audit log. See docs/api.md.",
)
for module in (me, workspaces, members, invitations, tokens, audit):
    api.add_router("", module.router)
api.add_router("", "sokhan.channels.api.router")
api.add_router("", "sokhan.media.api.router")
api.add_router("", "sokhan.publishing.api.router")
api.add_router("", "sokhan.publishing.api_brand_rules.router")
api.add_router("", "sokhan.automation.api.router")
api.add_router("", "sokhan.approvals.api.router")
api.add_router("", "sokhan.inbox.webhooks.router")
api.add_router("", "sokhan.inbox.api.router")
api.add_router("", "sokhan.inbox.api_config.router")
api.add_router("", "sokhan.listening.api.router")
api.add_router("", "sokhan.listening.api_crisis.router")
api.add_router("", "sokhan.analytics.api.router")
