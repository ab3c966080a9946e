"""Storage: the DatabaseAdapter contract and the SQLAlchemy-based adapters."""
