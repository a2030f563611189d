"""The ingest job: capture files → the signalling core → the metrics database."""

from etykieta.ingest.service import BATCH_CALLS, Ingestor, IngestSummary

__all__ = ["BATCH_CALLS", "IngestSummary", "Ingestor"]
