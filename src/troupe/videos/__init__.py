"""Video jobs: reading requests, running a render through a back end, scoring, retention."""
