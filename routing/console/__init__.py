"""The operator console: one module of short views per page area, plus its read-models and charts.

Every page renders in full for a plain request and as a named partial ("page.html#name") for htmx;
every change is a POST that redirects (plain) or re-renders the changed fragment (htmx).
"""
