"""A local search page: our model's top 10 next to BM25's, with the lexical part made visible."""
