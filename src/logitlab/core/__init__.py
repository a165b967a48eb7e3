"""The math, with no knowledge of models or data sources.

Owns: link functions (``links``), cross-entropy losses (``losses``), the
chunk-level linear algebra and statistics (``kernels``), the block Cholesky
factor of a mixed model's random-effects system (``blockchol``), the compiled fused
loops (``fused``, ``vmath``), thread pools (``threads``), the warning
helper (``userwarn``) and the progress display of long work (``progress``).
May import only the standard library, NumPy, SciPy, numba and (lazily, for
progress) rich — never another logitlab package.
"""
