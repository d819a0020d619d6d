"""PostgreSQL: the durable record. asyncpg repositories with explicit transactions."""
