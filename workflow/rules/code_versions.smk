# The record of which code each rule's jobs were made with (see code_version in common.smk): read at
# the next DAG build, so that a docstring edit or a move of definitions reruns nothing. Rewritten only
# when a job runs code not yet recorded.
rule record_code_versions:
    output:
        CODE_DIGESTS,
    log:
        "logs/record_code_versions.log",
    # before the jobs it records: a run cut short keeps the record of what it ran
    priority: 100
    localrule: True
    conda:
        ENV
    params:
        versions=code_versions,
        code=code_version("record_code_versions.py"),
    script:
        "../scripts/record_code_versions.py"
