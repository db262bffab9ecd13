"""Tables as standalone HTML pages: the form in which the Snakemake report shows them."""

from __future__ import annotations

from typing import Any


def html_page(df: Any, title: str) -> str:
    """A standalone HTML page holding one table (what the Snakemake report shows)."""
    table = df.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}", border=0, classes="comparison")
    style = (
        "body{font-family:sans-serif;margin:1em}table.comparison{border-collapse:collapse;font-size:13px}"
        "table.comparison th,table.comparison td{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "table.comparison th{background:#eef;position:sticky;top:0}"
        "table.comparison td:first-child,table.comparison td:nth-child(2){text-align:left}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
        f"<body><h1>{title}</h1>\n{table}\n</body></html>\n"
    )
