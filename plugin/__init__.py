"""The app shops install: the Flask app (`create_app`) and the `shoprec` CLI.

Flask is imported inside create_app: the CLI package lives under plugin/, and `shoprec --help`
must not pay for the web stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config import Settings, load_settings

if TYPE_CHECKING:
    from flask import Flask

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


def create_app(
    settings: Settings | None = None, test_config: Mapping[str, Any] | None = None
) -> Flask:
    """Build the web app: settings read once, the shared services, every blueprint.

    Args:
        settings: the process settings; read from the environment when None.
        test_config: Flask config keys (TESTING, ...) applied last.
    """
    from plugin import health, metrics, metrics_scrape, shopify_install, webhooks
    from plugin.admin import (
        email as admin_email,
    )
    from plugin.admin import (
        experiments as admin_experiments,
    )
    from plugin.admin import (
        explore as admin_explore,
    )
    from plugin.admin import (
        health as admin_health,
    )
    from plugin.admin import (
        identity as admin_identity,
    )
    from plugin.admin import (
        login as admin_login,
    )
    from plugin.admin import (
        overview as admin_overview,
    )
    from plugin.admin import (
        privacy as admin_privacy,
    )
    from plugin.admin import (
        quality as admin_quality,
    )
    from plugin.admin import (
        settings as admin_settings,
    )
    from plugin.errors import register_error_handlers
    from plugin.json_provider import OrjsonFlask
    from plugin.log_format import configure_logging_once
    from plugin.storefront import api as storefront
    from plugin.storefront import app_proxy, app_proxy_api
    from plugin.storefront import demo as demo_storefront
    from plugin.storefront.email_pull import bp as email_bp
    from serving.service import build_service

    settings = settings if settings is not None else load_settings()
    app = OrjsonFlask(__name__, template_folder=str(TEMPLATES_DIR), instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY=settings.secret_key or None)
    if test_config:
        app.config.update(test_config)
    app.extensions["settings"] = settings
    app.extensions[storefront.SERVICE_KEY] = build_service(settings)
    register_error_handlers(app)
    app.register_blueprint(storefront.bp)
    app.register_blueprint(demo_storefront.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(shopify_install.bp)
    app.register_blueprint(app_proxy.bp)
    from plugin import woocommerce_connect

    app.register_blueprint(woocommerce_connect.bp)
    app.register_blueprint(email_bp)
    app.register_blueprint(admin_login.bp)
    app.register_blueprint(admin_settings.bp)
    app.register_blueprint(admin_identity.bp)
    app.register_blueprint(admin_quality.bp)
    app.register_blueprint(admin_explore.bp)
    app.register_blueprint(admin_overview.bp)
    app.register_blueprint(admin_experiments.bp)
    app.register_blueprint(admin_email.bp)
    app.register_blueprint(admin_health.bp)
    app.register_blueprint(admin_privacy.bp)
    app.register_blueprint(app_proxy_api.bp)
    configure_logging_once(settings)
    metrics.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_scrape.bp)
    return app
