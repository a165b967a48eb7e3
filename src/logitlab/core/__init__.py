"""The math, with no knowledge of models or data sources.

Owns: link functions (``links``), cross-entropy losses (``losses``), the
chunk-level linear algebra and statistics (``kernels``), the compiled fused
loops (``fused``, ``vmath``), thread pools (``threads``) and the warning
helper (``userwarn``). May import only the standard library, NumPy, SciPy and
numba — never another logitlab package.
"""
