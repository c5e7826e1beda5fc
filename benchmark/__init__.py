"""i2i-bench: train, test, record and compare paired image-to-image translation models."""
