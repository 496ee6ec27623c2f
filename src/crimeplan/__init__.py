"""crimeplan: a Police and Crime Plan as a living, checkable performance system.

The Python API is the product; the CLI and the web pages are thin layers over it::

    from crimeplan.warehouse import Warehouse
    wh = Warehouse.open("crimeplan.duckdb")
    report = wh.load(["../shared/data"])
    print(wh.status())
"""

__version__ = "0.1.0"

OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)
OS_ATTRIBUTION = "Contains OS data © Crown copyright and database right."
# What every output built from the data carries (boundaries are OS data).
ATTRIBUTION = f"{OGL_ATTRIBUTION} {OS_ATTRIBUTION}"
