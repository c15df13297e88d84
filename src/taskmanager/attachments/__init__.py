"""Files on tasks: streamed uploads, safe downloads, storage on disk or S3-compatible stores."""
