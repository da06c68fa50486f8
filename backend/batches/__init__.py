"""Numbered batches (第N批): publishing a batch and its change log against the previous one."""
