"""File feeds: the canonical CSV formats, platform exports read as feeds, Online Retail."""
