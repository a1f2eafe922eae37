"""Blueprint 'admin_email': /admin/<shop>/email, the shop's email blocks as a marketer sees them.

A preview of each campaign's block for a chosen shopper (the very block the signed pull URL
serves, framed from this origin), that URL to copy into a template, and per provider what to
set up on its side: the Klaviyo metric and event properties a flow reads, the Mailchimp merge
fields (which shoprec creates on the audience at a click, instead of by hand), the Mandrill
template variables. Loading the page calls no provider; only the setup button does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request
from werkzeug.wrappers import Response

from connectors.email.mailchimp import MailchimpMarketingClient, merge_field_specs
from connectors.errors import ConnectorError
from email_blocks.assembly import block_url
from email_blocks.blocks import BLOCK_KINDS
from email_blocks.campaign_settings import (
    SETTING_KEY,
    CampaignSettingsError,
    parse_campaign_settings,
)
from plugin.admin.auth import admin_settings, open_admin_db, register_admin_guards
from storage.customers import find_customer_by_email, get_customer
from storage.shop_settings import get_shop_setting

bp = Blueprint("admin_email", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

MAX_SHOPPER_CHARS = 200


def _campaigns() -> tuple[Any, list[str]]:
    """The shop's campaign settings, or (None, problems) when the stored value is invalid."""
    try:
        return parse_campaign_settings(get_shop_setting(open_admin_db(), SETTING_KEY)), []
    except CampaignSettingsError as exc:
        return None, list(exc.problems)


def _shopper(given: str) -> dict[str, Any] | None:
    """The customer named by id or email, or None."""
    db = open_admin_db()
    if "@" in given:
        return find_customer_by_email(db, given)
    return get_customer(db, given)


@bp.get("/email")
def email_page(shop: str) -> str:
    """Campaigns, a block preview for a shopper (?shopper=&campaign=), provider setup."""
    settings = admin_settings()
    campaigns, problems = _campaigns()
    shopper_arg = request.args.get("shopper", "").strip()[:MAX_SHOPPER_CHARS]
    campaign = request.args.get("campaign", "post_purchase")
    if campaign not in BLOCK_KINDS:
        problems.append(f"campaign must be one of {sorted(BLOCK_KINDS)}, got {campaign[:30]!r}")
        campaign = "post_purchase"
    preview: dict[str, str] = {}
    customer = _shopper(shopper_arg) if shopper_arg else None
    if shopper_arg and customer is None:
        problems.append(f"no customer with the id or email {shopper_arg!r}")
    if customer is not None:
        if not settings.secret_key:
            problems.append("SHOPREC_SECRET_KEY is not set: blocks cannot be signed or pulled")
        else:
            customer_id = str(customer["customer_id"])
            preview = {
                "customer_id": customer_id,
                "frame": block_url("", settings.secret_key, shop, campaign, customer_id),
                "html_url": block_url(
                    settings.public_url, settings.secret_key, shop, campaign, customer_id
                ),
                "json_url": block_url(
                    settings.public_url, settings.secret_key, shop, campaign, customer_id, "json"
                ),
            }
    push = campaigns.push if campaigns is not None else None
    return render_template(
        "admin/email.html",
        problems=problems,
        campaigns=campaigns,
        kinds=sorted(BLOCK_KINDS),
        campaign=campaign,
        shopper=shopper_arg,
        preview=preview,
        push=push,
        merge_fields=merge_field_specs(),
        mailchimp_ready=bool(settings.mailchimp_api_key),
    )


@bp.post("/email/mailchimp-fields")
def create_merge_fields(shop: str) -> Response:
    """Create the merge fields shoprec fills that the shop's Mailchimp audience lacks."""
    settings = admin_settings()
    campaigns, problems = _campaigns()
    list_id = ""
    if campaigns is not None and campaigns.push.provider == "mailchimp":
        list_id = str(campaigns.push.options.get("list_id") or "")
    if problems or not list_id:
        flash("Set the push provider to mailchimp with its list_id first (Settings).", "error")
        return redirect(f"/admin/{shop}/email#mailchimp")
    try:
        client = MailchimpMarketingClient(settings.mailchimp_api_key)
        created, kept = client.ensure_merge_fields(list_id)
    except ConnectorError as exc:  # HTTPCallError included: a refusal, or a missing key
        flash(f"Mailchimp refused: {exc}", "error")
        return redirect(f"/admin/{shop}/email#mailchimp")
    if created:
        flash(f"Created {len(created)} merge fields: {', '.join(created)}.", "success")
    else:
        flash(f"All {len(kept)} merge fields were already on the audience.", "info")
    return redirect(f"/admin/{shop}/email#mailchimp")
