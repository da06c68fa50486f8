"""Exports of list views (.xlsx/.csv in the import layout), open data downloads and the Atom feed."""
