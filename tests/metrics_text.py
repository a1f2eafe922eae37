"""Reading a /metrics answer the way Prometheus does (prometheus_client's own parser)."""

from __future__ import annotations

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from plugin.metrics_scrape import COLLECTOR_KEY, QueueCollector
from plugin.queue_connection import QUEUE_REDIS_KEY
from plugin.storefront.api import SERVICE_KEY

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_samples(text: str) -> Samples:
    """{(sample name, labels): value} of every sample in a Prometheus text answer."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One series' value; 0 when absent (a counter nobody incremented yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one series grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def close_app_redis(app: Flask) -> None:
    """Close the Redis clients an app keeps for its life (enqueueing, serving cache, queue
    gauges), so their sockets are not left to the garbage collector's timing (a
    ResourceWarning at some later test otherwise)."""
    clients = [app.extensions.get(QUEUE_REDIS_KEY)]
    cache = app.extensions[SERVICE_KEY].serving_cache
    clients.append(cache._client() if cache is not None else None)
    registry = app.extensions.get(COLLECTOR_KEY)
    for collector in list(registry._collector_to_names) if registry is not None else []:
        if isinstance(collector, QueueCollector):
            clients.append(collector._client)
    for client in clients:
        if client is not None:
            client.close()
