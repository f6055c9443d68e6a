"""ServiceLoop: run, watch, measure and improve a customer-service process."""

__version__ = "0.1.0"
