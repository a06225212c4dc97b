"""Server side of ID documents: image validation and encrypted storage."""
