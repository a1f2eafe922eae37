"""The Spark job's entry point, for `spark-submit` on a cluster or `python -m` locally:

    spark-submit --master yarn spark_engine/job.py --export s3a://bucket/shoprec \\
        --shop myshop --out s3a://bucket/shoprec-tables/myshop --k 50
"""

from __future__ import annotations

import argparse
import json

from spark_engine.pairs import write_tables
from spark_engine.session import spark_session


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run the pair tables of one shop, print the row counts as JSON."""
    parser = argparse.ArgumentParser(description="shoprec pair tables on Spark")
    parser.add_argument("--export", required=True, help="the folder `shoprec export` wrote")
    parser.add_argument("--shop", required=True)
    parser.add_argument("--out", required=True, help="where the tables are written")
    parser.add_argument("--k", type=int, default=50, help="partners kept per product")
    parser.add_argument("--master", default=None, help="default: SHOPREC_SPARK_MASTER")
    args = parser.parse_args(argv)
    spark = spark_session(args.master)
    try:
        print(json.dumps(write_tables(spark, args.export, args.shop, args.out, args.k)))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
