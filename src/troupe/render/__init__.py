"""Rendering videos: the back-end interface, the back ends, and the files made around them."""
