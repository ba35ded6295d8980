"""Retrieval: encoders (ours and the baselines) behind one interface, BM25, corpus reading,
exact search and the on-disk index."""
