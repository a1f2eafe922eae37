"""email_blocks package."""
