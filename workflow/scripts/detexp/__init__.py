"""The workflow's core: config validation, runs, datasets, RF-DETR training, evaluation and inference,
summaries, plots and statistics.

Plain Python, importable and testable without Snakemake; the entry scripts beside this package
read Snakemake's `snakemake` object (or command-line arguments) and call in here.
"""
