"""Where it happens: the 2025 commune snapshot and the resolver of Vietnamese place text."""

from routing.geography.data import Geography, OldWard, Province, Ward, load_geography
from routing.geography.resolver import Candidate, LocationResult, Resolver

__all__ = [
    "Candidate",
    "Geography",
    "LocationResult",
    "OldWard",
    "Province",
    "Resolver",
    "Ward",
    "load_geography",
]
