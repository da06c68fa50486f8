"""Statistics: the public summary and the matchmakers' fuller view, computed with SQL group-bys."""
