"""pmbot: answers questions about product versus project management.

Matching a question is a few small vector operations: BLAS threads would only
compete with the event loop and the other processes on the machine, so each
pool gets one thread unless the environment says otherwise. This must happen
before NumPy is first imported, which is why it sits in the package's __init__.
"""

import os

for _pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")
