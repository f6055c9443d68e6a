"""Web pages of cases: the customer portal (``portal``) and the agent workspace (``workspace``)."""
