"""Event and point-cloud data: generators, readers for your own files, seeded cached datasets, encodings, previews."""
