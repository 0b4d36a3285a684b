"""Bill storage: a customer's bill files pushed to their S3-compatible bucket."""
