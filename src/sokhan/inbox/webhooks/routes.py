"""The receivers' URLs. No session or token: each sender proves itself (Meta by signing the body,
the Bot API by the channel's secret header), so these routes have ``auth=None`` and no CSRF check.
Bodies are read raw (a signature covers the exact bytes), never through a ninja schema."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import Router

from sokhan.api.schemas import ErrorOut
from sokhan.inbox.webhooks import botapi, meta
from sokhan.inbox.webhooks.common import WebhookAck, WebhookError, read_body

router = Router(tags=["webhooks"])

_REFUSALS: dict[int, type[ErrorOut]] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 413: ErrorOut}


def _body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


def _header(name: str, description: str) -> dict[str, Any]:
    return {"in": "header", "name": name, "required": True, "description": description, "schema": {"type": "string"}}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"in": "query", "name": name, "required": True, "description": description, "schema": {"type": "string"}}


@router.get(
    "/webhooks/meta",
    auth=None,
    response={200: str, 400: ErrorOut, 403: ErrorOut},
    url_name="webhook_meta_verify",
    summary="Meta subscription check",
    description="Meta calls this when the callback URL is saved in the app's Webhooks settings; "
    "answers hub.challenge as text/plain when hub.verify_token is the configured one.",
    openapi_extra={
        "parameters": [
            _query("hub.mode", "always 'subscribe'"),
            _query("hub.verify_token", "the Verify Token typed into the app's settings"),
            _query("hub.challenge", "echoed back on success"),
        ],
        "responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    },
)
@csrf_exempt
def meta_verify(request: HttpRequest) -> HttpResponse:
    query = request.GET
    try:
        challenge = meta.verify_subscription(
            query.get("hub.mode", ""), query.get("hub.verify_token", ""), query.get("hub.challenge", "")
        )
    except WebhookError as exc:
        return exc.response(meta.SOURCE)
    return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


@router.post(
    "/webhooks/meta",
    auth=None,
    response={200: WebhookAck, **_REFUSALS, 409: ErrorOut},
    url_name="webhook_meta",
    summary="Meta deliveries (Facebook Pages, Instagram)",
    description="Comments, Instagram mentions and Messenger/Instagram direct messages. The body must be "
    "signed with the Meta app secret. A delivery seen before answers status 'duplicate'; one older "
    "than the replay window answers 409.",
    openapi_extra={
        "parameters": [_header("X-Hub-Signature-256", "sha256=<HMAC-SHA256 of the raw body with the app secret>")],
        **_body("A Meta webhook delivery: {object, entry: [...]}"),
    },
)
@csrf_exempt
def meta_receive(request: HttpRequest) -> Any:
    try:
        return meta.receive(read_body(request), request.headers.get("X-Hub-Signature-256", ""))
    except WebhookError as exc:
        return exc.response(meta.SOURCE)


def _bot_api(request: HttpRequest, network: str, channel_id: int) -> Any:
    try:
        return botapi.receive(network, channel_id, read_body(request), request.headers.get(botapi.HEADER, ""))
    except WebhookError as exc:
        return exc.response(f"{network}:{channel_id}")


def _bot_api_doc() -> dict[str, Any]:
    return {
        "parameters": [_header(botapi.HEADER, "the channel's webhook secret, as given to setWebhook")],
        **_body("One Bot API Update"),
    }


@router.post(
    "/webhooks/telegram/{int:channel_id}",
    auth=None,
    response={200: WebhookAck, **_REFUSALS},
    url_name="webhook_telegram",
    summary="Telegram bot updates for one channel",
    openapi_extra=_bot_api_doc(),
)
@csrf_exempt
def telegram_receive(request: HttpRequest, channel_id: int) -> Any:
    return _bot_api(request, "telegram", channel_id)


@router.post(
    "/webhooks/bale/{int:channel_id}",
    auth=None,
    response={200: WebhookAck, **_REFUSALS},
    url_name="webhook_bale",
    summary="Bale bot updates for one channel",
    openapi_extra=_bot_api_doc(),
)
@csrf_exempt
def bale_receive(request: HttpRequest, channel_id: int) -> Any:
    return _bot_api(request, "bale", channel_id)
