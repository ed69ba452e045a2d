"""Judge generated code: the static gate, the checks run before SMAC and ``automl verify``.

Running the code is :mod:`automl.sandbox`'s job; this package only decides what to run and what the outcomes mean.
"""
