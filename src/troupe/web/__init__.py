"""The browser UI: hand-written HTML, CSS and JavaScript served at `/`, over the JSON API."""
