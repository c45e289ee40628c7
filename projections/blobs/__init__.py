"""The blob layer: byte streams under keys, on local disk or S3, with a local cache."""
