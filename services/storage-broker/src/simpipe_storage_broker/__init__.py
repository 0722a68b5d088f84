"""SIM-PIPE storage-broker: buckets, objects and presigned URLs on any S3."""
