"""Blueprint 'admin_experiments': /admin/<shop>/experiments, A/B tests from draft to promotion.

An experiment is 2 or 3 variants, each a profile checked with the very validators of the shop
settings: what is served ("weights", "rules": an algorithm test), how many items ("limit": a
volume test, e.g. 4 against 8) and how they are laid out ("format": grid, carousel or scroll,
a display test); plus an optional holdout that gets no recommendations. Item count and layout
have form fields of their own, so those tests need no JSON.
Start and stop take effect on the next request (the assignment snapshot is cleared and the
serving cache generation bumped); promoting writes the winner's profile into the shop settings
through set_shop_setting, so the change is audited like one made on the settings page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlite_utils
from flask import Blueprint, abort, flash, g, redirect, render_template, request
from werkzeug.wrappers import Response

from engine.blend import validate_weights
from engine.errors import InputError
from engine.experiment_stats import (
    METRICS,
    PRIMARY_METRIC,
    ExperimentReport,
    Lift,
    VariantSample,
    analyse_experiment,
    relative_lift,
)
from engine.rule_settings import RuleSettingsError, merge_rules, validate_rules
from plugin.admin.auth import admin_settings, open_admin_db, register_admin_guards
from plugin.admin.charts import split_chart
from plugin.admin.experiment_assignment import DEFAULT_SNAPSHOTS
from plugin.admin.owner_json import OwnerJSONError, parse_owner_json
from plugin.admin.settings_forms import WIDGET_FORMAT_KEY
from plugin.storefront.shop_display import WIDGET_FORMATS
from serving.generations import bump_generation
from storage.attribution import attribution_window_hours
from storage.experiment_samples import arm_sessions
from storage.experiments import (
    EXPERIMENT_CONTEXTS,
    HOLDOUT,
    MAX_VARIANTS,
    PROFILE_KEYS,
    Experiment,
    ExperimentError,
    check_promotable,
    create_experiment,
    get_experiment,
    list_experiments,
    record_winner,
    start_experiment,
    stop_experiment,
)
from storage.performance import revenue_per_visitor
from storage.shop_settings import get_shop_setting, set_shop_setting
from worker.reallocation import reallocate_experiment

# Splits drawn in the allocation chart: hourly rounds make 24 a day, and the chart should
# read at a glance; the table below it keeps every split.
CHART_SPLITS = 24

bp = Blueprint("admin_experiments", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

LIMIT_RANGE = (1, 24)  # what a variant may ask; serving still cuts it to the context's range
METRIC_LABELS = {"ctr": "CTR", "conversion": "conversion rate", "revenue": "revenue per session"}


# A placement names a candidate position on the shop's pages (data-placement="below-cart").
PLACEMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def parse_profile(text: str, variant: str) -> dict[str, Any]:
    """A variant's profile from its JSON text, checked like the shop settings; '' = {}.

    Raises ExperimentError naming the variant and the validator's message.
    """
    if not text.strip():
        return {}
    try:
        profile = parse_owner_json(text)
    except OwnerJSONError as exc:
        raise ExperimentError(f"variant {variant!r}: profile is {exc}") from None
    if not isinstance(profile, dict) or set(profile) - set(PROFILE_KEYS):
        raise ExperimentError(
            f"variant {variant!r}: profile must be an object with keys among {list(PROFILE_KEYS)}"
        )
    weights = profile.get("weights")
    if weights is not None:
        if not isinstance(weights, dict) or not all(isinstance(m, dict) for m in weights.values()):
            raise ExperimentError(
                f"variant {variant!r}: weights must map 'context' or 'context/slot' to "
                '{"source": weight}'
            )
        try:
            profile["weights"] = validate_weights(weights)
        except (InputError, TypeError) as exc:
            raise ExperimentError(f"variant {variant!r}: {exc}") from exc
    if profile.get("rules") is not None:
        try:
            validate_rules(profile["rules"])
        except RuleSettingsError as exc:
            raise ExperimentError(f"variant {variant!r}: {exc}") from exc
    limit = profile.get("limit")
    if limit is not None and (
        not isinstance(limit, int)
        or isinstance(limit, bool)
        or not LIMIT_RANGE[0] <= limit <= LIMIT_RANGE[1]
    ):
        raise ExperimentError(
            f"variant {variant!r}: items shown must be a whole number from {LIMIT_RANGE[0]} "
            f"to {LIMIT_RANGE[1]}, got {limit!r}"
        )
    placement = profile.get("placement")
    if placement is not None and (
        not isinstance(placement, str) or not PLACEMENT_NAME.fullmatch(placement)
    ):
        raise ExperimentError(
            f"variant {variant!r}: placement must be a short name of letters, digits, - or _ "
            f"(the data-placement of a position on your pages), got {placement!r}"
        )
    layout = profile.get("format")
    if layout is not None and layout not in WIDGET_FORMATS:
        raise ExperimentError(
            f"variant {variant!r}: layout must be one of {list(WIDGET_FORMATS)}, got {layout!r}"
        )
    return {k: v for k, v in profile.items() if v is not None}


def presentation_fields(form: Any, n: int, variant: str) -> dict[str, Any]:
    """A variant row's "items shown" and "layout" fields as profile keys ('' = unchanged)."""
    fields: dict[str, Any] = {}
    limit_text = form.get(f"variant{n}_limit", "").strip()
    if limit_text:
        try:
            fields["limit"] = int(limit_text)
        except ValueError:
            raise ExperimentError(
                f"variant {variant!r}: items shown must be a whole number, got {limit_text[:20]!r}"
            ) from None
    layout = form.get(f"variant{n}_format", "").strip()
    if layout:
        fields["format"] = layout
    placement = form.get(f"variant{n}_placement", "").strip()
    if placement:
        fields["placement"] = placement
    return fields


def _share(raw: str, name: str, default: float) -> float:
    """A percentage field ('10' = 10%) as a fraction."""
    if not raw.strip():
        return default
    try:
        return float(raw) / 100.0
    except ValueError as exc:
        raise ExperimentError(f"{name} must be a percentage, got {raw[:40]!r}") from exc


def experiment_from_form(form: Any) -> dict[str, Any]:
    """The create form as create_experiment's arguments; raises ExperimentError."""
    variants = []
    for n in range(1, MAX_VARIANTS + 1):
        name = form.get(f"variant{n}_name", "").strip()
        profile_text = form.get(f"variant{n}_profile", "")
        shown = presentation_fields(form, n, name)
        if not name and not profile_text.strip() and not shown:
            continue
        weight_text = form.get(f"variant{n}_weight", "").strip() or "1"
        try:
            weight = float(weight_text)
        except ValueError as exc:
            raise ExperimentError(
                f"variant {name!r} weight must be a number, got {weight_text[:40]!r}"
            ) from exc
        profile = parse_profile(profile_text, name)
        variants.append(
            {
                "name": name,
                "weight": weight,
                "profile": parse_profile(json.dumps({**profile, **shown}), name),
            }
        )
    return {
        "name": form.get("name", ""),
        "context": form.get("context", ""),
        "variants": variants,
        "holdout_share": _share(form.get("holdout_percent", ""), "holdout", 0.0),
        "min_detectable_effect": _share(form.get("mde_percent", ""), "minimum effect", 0.1),
        "allocation": form.get("allocation", "fixed") or "fixed",
        "min_share": _share(form.get("min_share_percent", ""), "minimum share", 0.1),
    }


def allocation_rows(experiment: Experiment, now: str) -> list[dict[str, Any]]:
    """The split over time, oldest first: the weights' split from the start, then each
    automatic split. Each row: {"from", "shares" (arm -> share of all traffic, holdout
    first), "state": "past" | "current" | "pending"}."""
    holdout = experiment.holdout_share
    total = sum(v.weight for v in experiment.variants)
    first = {HOLDOUT: holdout}
    first.update({v.name: (1 - holdout) * v.weight / total for v in experiment.variants})
    rows: list[dict[str, Any]] = [
        {"from": experiment.started_at or "at the start", "shares": first}
    ]
    for allocation in experiment.allocations:
        shares = {HOLDOUT: holdout}
        shares.update({v.name: allocation.shares.get(v.name, 0.0) for v in experiment.variants})
        rows.append({"from": allocation.effective_from, "shares": shares})
    current = max((i for i, row in enumerate(rows) if i == 0 or row["from"] <= now), default=0)
    for i, row in enumerate(rows):
        row["state"] = "current" if i == current else ("past" if i < current else "pending")
    return rows


def variant_samples(
    db: sqlite_utils.Database, experiment: Experiment, window_hours: int, now: str
) -> list[VariantSample]:
    """Each variant's impressions, clicks and per-session attributed revenue (control first),
    as storage.experiment_samples counts them."""
    return [
        VariantSample(
            arm.name,
            arm.impressions,
            arm.clicks,
            int(np.count_nonzero(arm.session_revenue > 0)),
            arm.session_revenue,
        )
        for arm in arm_sessions(db, experiment, window_hours, now)
    ]


def _holdout_lift(db: sqlite_utils.Database, experiment: Experiment) -> Lift:
    """Revenue per visitor of everyone served recommendations against the holdout."""
    arms = revenue_per_visitor(db, experiment, experiment.started_at or _now(), _now())
    treated = [values for name, values in arms.items() if name != HOLDOUT]
    return relative_lift(
        np.concatenate(treated) if treated else np.zeros(0), arms.get(HOLDOUT, np.zeros(0))
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def experiment_report(
    db: sqlite_utils.Database, experiment: Experiment, metric: str = PRIMARY_METRIC
) -> tuple[ExperimentReport | None, list[VariantSample]]:
    """The one verdict every page and the promote action use (None before the start).

    The list, the detail page and promotion all read it, so a variant flagged by a guardrail
    on one is flagged on all, and the promote button is refused for it on the server too.
    """
    if not experiment.started_at:
        return None, []
    window = attribution_window_hours(db, admin_settings().attribution_window_hours)
    samples = variant_samples(db, experiment, window, _now())
    return analyse_experiment(samples, metric, experiment.min_detectable_effect), samples


def _list_page(form: dict[str, str] | None = None) -> str:
    db = open_admin_db()
    experiments = list_experiments(db)
    return render_template(
        "admin/experiments.html",
        experiments=experiments,
        reports={e.experiment_id: experiment_report(db, e)[0] for e in experiments},
        contexts=EXPERIMENT_CONTEXTS,
        max_variants=MAX_VARIANTS,
        widget_formats=WIDGET_FORMATS,
        form=form or {},
    )


@bp.get("/experiments")
def experiments_page(shop: str) -> str:
    """Every experiment, newest first, and the form to create one."""
    return _list_page()


@bp.post("/experiments")
def create(shop: str) -> Response | tuple[str, int]:
    """Create a draft; a bad form comes back with what was typed and the reason."""
    db = open_admin_db()
    try:
        experiment_id = create_experiment(
            db, **experiment_from_form(request.form), created_by=g.admin_user
        )
    except ExperimentError as exc:
        flash(str(exc), "error")
        return _list_page(request.form.to_dict()), 400
    flash("Experiment created as a draft: start it when ready.", "success")
    return redirect(f"/admin/{g.admin_shop}/experiments/{experiment_id}")


def _experiment_or_404(experiment_id: int) -> Experiment:
    try:
        return get_experiment(open_admin_db(), experiment_id)
    except ExperimentError:
        abort(404, description=f"no experiment {experiment_id}")


@bp.get("/experiments/<int:experiment_id>")
def results_page(shop: str, experiment_id: int) -> str:
    """One experiment: its definition, per-variant results with CIs and tests, the actions."""
    experiment = _experiment_or_404(experiment_id)
    metric = request.args.get("metric", PRIMARY_METRIC)
    if metric not in METRICS:
        flash(
            f"metric must be one of {list(METRICS)}, got {metric[:40]!r}; "
            f"showing {METRIC_LABELS[PRIMARY_METRIC]}",
            "error",
        )
        metric = PRIMARY_METRIC
    db = open_admin_db()
    report, samples = experiment_report(db, experiment, metric)
    holdout_lift: Lift | None = None
    if report is not None and experiment.holdout_share > 0:
        holdout_lift = _holdout_lift(db, experiment)
    allocations = allocation_rows(experiment, _now())
    return render_template(
        "admin/experiments_detail.html",
        e=experiment,
        report=report,
        clicks={s.name: s.clicks for s in samples},
        holdout_lift=holdout_lift,
        metric=metric,
        primary_metric=PRIMARY_METRIC,
        metrics=METRICS,
        metric_labels=METRIC_LABELS,
        holdout=HOLDOUT,
        allocations=allocations,
        allocation_chart=split_chart(
            [(str(row["from"]), row["shares"]) for row in allocations[-CHART_SPLITS:]],
            "Share of visitors by variant, each split from when it took effect"
            + (
                f" (the latest {CHART_SPLITS} of {len(allocations)}; the table has every one)"
                if len(allocations) > CHART_SPLITS
                else ""
            ),
            chart_id="allocation-chart",
        ),
        profiles={
            v.name: json.dumps(v.profile, indent=2, sort_keys=True) for v in experiment.variants
        },
    )


def _after_change(experiment_id: int, message: str) -> Response:
    DEFAULT_SNAPSHOTS.clear()
    bump_generation(admin_settings(), g.admin_shop)
    flash(message, "success")
    return redirect(f"/admin/{g.admin_shop}/experiments/{experiment_id}")


def _refused(experiment_id: int, exc: ExperimentError) -> Response:
    flash(str(exc), "error")
    return redirect(f"/admin/{g.admin_shop}/experiments/{experiment_id}")


@bp.post("/experiments/<int:experiment_id>/start")
def start(shop: str, experiment_id: int) -> Response:
    """Start a draft: visitors are assigned from the next request."""
    _experiment_or_404(experiment_id)
    try:
        start_experiment(open_admin_db(), experiment_id)
    except ExperimentError as exc:
        return _refused(experiment_id, exc)
    return _after_change(experiment_id, "Experiment started.")


@bp.post("/experiments/<int:experiment_id>/stop")
def stop(shop: str, experiment_id: int) -> Response:
    """Stop: everyone gets the shop's own settings again from the next request."""
    _experiment_or_404(experiment_id)
    try:
        stop_experiment(open_admin_db(), experiment_id)
    except ExperimentError as exc:
        return _refused(experiment_id, exc)
    return _after_change(experiment_id, "Experiment stopped.")


def promoted_settings(db: sqlite_utils.Database, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The shop's "weights"/"rules" with the profile merged over them exactly as serving merged
    it for the variant (serving.profile): weights key by key, rules section by section
    and key by key, so promoting keeps the owner's other slots, blocks and pins. A layout
    becomes the shop's widget format. (An item count is the page's own data-limit or theme
    block setting: the promotion message says so.)"""
    new: dict[str, Any] = {}
    if profile.get("format"):
        new[WIDGET_FORMAT_KEY] = profile["format"]
    if profile.get("weights"):
        new["weights"] = {**(get_shop_setting(db, "weights") or {}), **profile["weights"]}
    if profile.get("rules"):
        try:
            new["rules"] = merge_rules(get_shop_setting(db, "rules"), profile["rules"])
        except RuleSettingsError as exc:
            raise ExperimentError(f"the shop's stored rules are invalid: {exc}") from exc
    return new


@bp.post("/experiments/<int:experiment_id>/promote")
def promote(shop: str, experiment_id: int) -> Response:
    """Write the chosen variant's weights/rules into the shop settings and record the winner."""
    _experiment_or_404(experiment_id)
    db = open_admin_db()
    variant_name = request.form.get("variant", "")
    try:
        experiment = check_promotable(db, experiment_id, variant_name)
        report, _ = experiment_report(db, experiment)
        if report is not None and not report.promotable(variant_name):
            losses = "; ".join(b.message for b in report.guardrails[variant_name])
            raise ExperimentError(
                f"{variant_name!r} is not promoted: {losses}. Promoting it would lose sales; "
                "keep testing, or change the settings by hand if you accept the loss"
            )
        profile = experiment.variant(variant_name).profile
        parse_profile(json.dumps(profile), variant_name)  # settings validators may have tightened
        who = f"{g.admin_user} (experiment {experiment_id})"
        changed = [
            key
            for key, value in promoted_settings(db, profile).items()
            if set_shop_setting(db, key, value, changed_by=who)
        ]
        record_winner(db, experiment_id, variant_name, g.admin_user)
    except ExperimentError as exc:
        return _refused(experiment_id, exc)
    what = f"settings changed: {', '.join(changed)}" if changed else "no setting needed a change"
    if profile.get("limit"):
        what += (
            f". Show {profile['limit']} items: set the widget's item count (theme block or "
            "data-limit) to it"
        )
    return _after_change(experiment_id, f"Promoted {variant_name!r}; {what}.")


@bp.post("/experiments/<int:experiment_id>/reallocate")
def reallocate_now(shop: str, experiment_id: int) -> Response:
    """Run one allocation round for this experiment now, as the hourly worker round would.

    It runs in the request (one experiment's sessions and a Thompson draw: quick) rather than
    on the queue, so the page it returns to already shows the new split; the split takes
    effect a minute after it is stored, like the hourly one.
    """
    experiment = _experiment_or_404(experiment_id)
    if experiment.status != "running" or experiment.allocation != "automatic":
        return _refused(
            experiment_id,
            ExperimentError("only a running experiment with automatic allocation is reallocated"),
        )
    db = open_admin_db()
    window = attribution_window_hours(db, admin_settings().attribution_window_hours)
    try:
        done = reallocate_experiment(db, experiment, window, datetime.now(UTC))
    except ExperimentError as exc:
        return _refused(experiment_id, exc)
    split = ", ".join(f"{name} {100 * share:.1f}%" for name, share in done["shares"].items())
    flash(f"New split stored, in effect from {done['effective_from']}: {split}.", "success")
    return redirect(f"/admin/{g.admin_shop}/experiments/{experiment_id}")
