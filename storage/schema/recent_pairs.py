"""Schema for reading what was bought with a product since a moment (the last training).

Between retrains, product pages fold in pairs from orders newer than the models
(storage.orders.co_purchased_since): one product's lines after a time, found by this index
without walking all its history.
"""

SQL = """
CREATE INDEX order_lines_product_created ON order_lines(product_id, created_at);
"""
