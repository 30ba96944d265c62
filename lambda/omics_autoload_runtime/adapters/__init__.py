"""AWS adapters: the tracking table, boto3 clients, metrics, notices, rate limit, import slots."""
