"""Judge generated code: the static gate, the sandboxed worker and the checks run before SMAC."""
