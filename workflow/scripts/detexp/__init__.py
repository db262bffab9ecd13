"""The workflow's core: config validation, datasets, RF-DETR training and inference, summaries.

Plain Python, importable and testable without Snakemake; the entry scripts beside this package
only translate Snakemake's `snakemake` object (or command-line arguments) into calls here.
"""
