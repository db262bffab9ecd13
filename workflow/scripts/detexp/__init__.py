"""The workflow's core, one folder per stage in the DAG's order: data/ (split, prepare), study/ (what
runs, checked as the DAG is built), train/, test/ (evaluate, infer), report/ (summarize and after);
the modules every stage shares sit here, at the top. A stage imports only the shared modules and
earlier stages (tests/unit/test_layers.py).

Plain Python, importable and testable without Snakemake; the entry scripts beside this package
read Snakemake's `snakemake` object (or command-line arguments) and call in here.
"""
