"""The DECP (données essentielles de la commande publique) of each contract, generated
from the procedure's own records: API, bulk files, the two-month publication clock and
the connector to the national open-data portal."""
