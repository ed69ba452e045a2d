"""What a run shows: result.json, the console summary, and progress while it works."""
