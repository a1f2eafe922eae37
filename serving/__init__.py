"""Turning trained models into a served list, for every surface alike.

The storefront, the app proxy and pulled email blocks (plugin/) and pushed email blocks
(worker/) all ask the same service, so a list is built by one rules step, one fallback and
one model cache wherever it is shown. Imports config, storage and engine only.
"""
