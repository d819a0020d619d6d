"""Local stack for runs and tests: PostgreSQL, Redis, Dapr placement and scheduler, daprd and the app."""
