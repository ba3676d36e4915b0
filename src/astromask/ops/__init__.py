"""Pure operations on arrays, masks and masked images: algebra, thresholds, blobs, measures, calc."""
