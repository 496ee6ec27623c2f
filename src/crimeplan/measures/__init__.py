"""Measures: a plan's measures compiled to SQL over the warehouse, with honest comparisons."""

from crimeplan.measures.areas import Area, Areas, UnknownArea
from crimeplan.measures.engine import Engine
from crimeplan.measures.periods import Period, PeriodError, parse_period
from crimeplan.measures.results import MeasureResult, Scorecard, SourceFigure

__all__ = ["Area", "Areas", "Engine", "MeasureResult", "Period", "PeriodError", "Scorecard", "SourceFigure",
           "UnknownArea", "parse_period"]
