"""Catalog data shipped with taper."""
