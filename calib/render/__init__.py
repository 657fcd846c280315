"""Rendering stored records as rich tables. Bookkeeping (rows) is kept apart from drawing."""
