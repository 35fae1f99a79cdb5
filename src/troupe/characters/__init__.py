"""Characters: timestamps, usernames, and the pipeline that cuts a subject out of a clip."""
