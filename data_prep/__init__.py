"""Data preparation: MS MARCO -> canonical parquet table; GloVe -> vocabulary + vectors."""
