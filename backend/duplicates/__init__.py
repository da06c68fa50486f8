"""Likely duplicate listings (重复建设): similarity, the matchmakers' pair list, merge and dismiss."""
