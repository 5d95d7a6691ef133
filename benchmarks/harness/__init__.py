"""The benchmark harness behind ``python benchmarks/run.py <table>``: shared pieces (profiles,
machine facts, studio data, training workers, reports, plots) and one module per table."""
