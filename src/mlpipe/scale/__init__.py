"""Batch scoring and monitoring beyond one process: partitions of data files scored on a Dask cluster.

``parts`` plans and reads partitions (no Dask), ``cluster`` connects to a cluster and ships the model,
``score`` and ``monitor`` are the two jobs. Dask is the optional ``scale`` extra: only ``cluster``
imports it, inside its functions.
"""
