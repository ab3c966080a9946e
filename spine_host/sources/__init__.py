"""Sources: the Source contract, the file and database sources."""
