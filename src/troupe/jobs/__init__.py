"""Jobs: a durable queue in the database and the worker that runs it."""
