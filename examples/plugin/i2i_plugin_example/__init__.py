"""An example i2i-bench plug-in: `residual-cnn` (a small residual CNN) and `speckle` (a synthetic dataset)."""
