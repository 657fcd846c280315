"""Rendering stored records as rich tables, one module per table. Bookkeeping (rows) is kept apart
from drawing; every table goes out as a `fit.Fitted`, which lays it out at the terminal's width
without cutting a number."""
