"""The audit report: `engine audit` (the one-command main job) and `engine report` (render a store).

audit.py runs the pipeline into a store; sections.py runs sql/report/ queries against it;
markdown.py, html.py and summary.py render them; render.py writes the three files.
"""
