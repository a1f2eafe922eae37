"""Generated demo shops: catalog, orders, storefront traffic; for `make demo`, tests and bench."""
