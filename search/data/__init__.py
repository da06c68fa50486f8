"""Word lists (lexicon, stop words, synonyms); a package so they ship with the wheel."""
