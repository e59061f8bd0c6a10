"""Drivers: the only place EM loops live."""
