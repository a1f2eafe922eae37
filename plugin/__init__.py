"""The app shops install: the Flask app (`create_app`) and the `shoprec` CLI."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from config import Settings, load_settings

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


def create_app(
    settings: Settings | None = None, test_config: Mapping[str, Any] | None = None
) -> Flask:
    """Build the web app: settings read once, the shared services, every blueprint.

    Args:
        settings: the process settings; read from the environment when None.
        test_config: Flask config keys (TESTING, ...) applied last.
    """
    from plugin import demo_storefront, storefront, webhooks
    from plugin.email_pull import bp as email_bp
    from plugin.errors import register_error_handlers
    from plugin.recommendations import build_service

    settings = settings if settings is not None else load_settings()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY=settings.secret_key or None)
    if test_config:
        app.config.update(test_config)
    # Keep keys in the order the contract lists them (product_id, title, price, ...).
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["settings"] = settings
    app.extensions[storefront.SERVICE_KEY] = build_service(settings)
    register_error_handlers(app)
    app.register_blueprint(storefront.bp)
    app.register_blueprint(demo_storefront.bp)
    app.register_blueprint(webhooks.bp)
    from plugin import app_proxy, shopify_install

    app.register_blueprint(shopify_install.bp)
    app.register_blueprint(app_proxy.bp)
    from plugin import woocommerce_connect

    app.register_blueprint(woocommerce_connect.bp)
    app.register_blueprint(email_bp)
    from plugin import (
        admin_explore,
        admin_health,
        admin_identity,
        admin_login,
        admin_quality,
        admin_settings,
    )

    app.register_blueprint(admin_login.bp)
    app.register_blueprint(admin_settings.bp)
    app.register_blueprint(admin_identity.bp)
    app.register_blueprint(admin_quality.bp)
    app.register_blueprint(admin_explore.bp)
    from plugin import admin_experiments, admin_overview

    app.register_blueprint(admin_overview.bp)
    app.register_blueprint(admin_experiments.bp)
    app.register_blueprint(admin_health.bp)
    from plugin import admin_privacy

    app.register_blueprint(admin_privacy.bp)
    from plugin import app_proxy_storefront

    app.register_blueprint(app_proxy_storefront.bp)
    from plugin import health, metrics, metrics_scrape
    from plugin.log_format import configure_logging_once

    configure_logging_once(settings)
    metrics.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_scrape.bp)
    return app
