"""numba kernels: numpy arrays in, numpy arrays out. No polars, rich, click or ccxt here."""
