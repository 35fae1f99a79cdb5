"""Store: SQL tables, repository functions and the blob folder."""
