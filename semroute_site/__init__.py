import os

# One BLAS thread per process unless the deployment says otherwise, set before numpy loads: the
# server runs several workers, and on 2 cores a multi-threaded BLAS made compiling the demo router
# 20x slower (1.3 s against 68 ms, bench/RESULTS.md).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
