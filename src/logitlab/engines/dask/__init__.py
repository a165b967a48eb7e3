"""The Dask engine: clients, inputs as partitions, formulas and predictions on Dask."""
