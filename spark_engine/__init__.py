"""Training steps on Apache Spark, for shops whose data outgrows one host (see docs/scale-out.md).

Reads what `shoprec export` writes (storage.parquet_export) and computes, with the same
definitions and the same tie-breaking as the engine, the tables a shop's models are made of.
Optional: it needs the `spark` extra (pyspark) and Java 17.
"""
