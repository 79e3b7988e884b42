"""The public names of orchestrator.report.html, loaded on first use."""

from .page import render_html as render_html
