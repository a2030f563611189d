"""The ingest job: capture files → the signalling core → the metrics database."""

from .service import Ingestor, IngestRun, IngestSummary

__all__ = ["IngestRun", "IngestSummary", "Ingestor"]
