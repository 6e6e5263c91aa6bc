"""The common replies: the YAML library, Firefox's UI labels in it, and the catalog in use."""
