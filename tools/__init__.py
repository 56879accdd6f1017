"""The repository's tools, run from the checkout as modules (``python -m tools.render_diagrams``) or by their path."""
