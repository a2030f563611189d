"""Reports: pure builders from stored calls to rows, and their renderings."""
