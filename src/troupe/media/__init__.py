"""Media: safe fetching, probing, decoding a window, encoding outputs."""
