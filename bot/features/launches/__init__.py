"""Launch-day lists: people who asked to hear when a release is out, answered on launch day."""
