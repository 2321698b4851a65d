"""API Gateway glue shared by every API handler: the resolver, authentication, bodies, errors."""
