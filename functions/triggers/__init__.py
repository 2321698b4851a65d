"""Functions started by AWS events (S3 notifications)."""
