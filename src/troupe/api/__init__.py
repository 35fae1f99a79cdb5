"""API: the FastAPI app, its routes, wire schemas and error mapping."""
