#!/usr/bin/python3
"""scikit-learn's answer for tests/classify/test_probe.c: the probabilities of
LogisticRegression(penalty='l2', C, solver='lbfgs', multi_class='multinomial')
trained on the L2-normalised rows, for the same rows, one block per C.

Usage: probe_reference.py EMBEDDINGS.f32 LABELS.i32 N DIM OUT.f32 C...
Exits 77 (a skip for the test) when scikit-learn is not installed."""
import sys

try:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
except ImportError as e:
    print(f"probe_reference.py: {e}", file=sys.stderr)
    sys.exit(77)


def main():
    emb_path, labels_path, n, dim, out_path, *cs = sys.argv[1:]
    n, dim = int(n), int(dim)
    x = np.fromfile(emb_path, dtype="<f4").reshape(n, dim).astype(np.float64)
    y = np.fromfile(labels_path, dtype="<i4")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    blocks = []
    for c in cs:
        # Converged far beyond the defaults (tol 1e-4, 100 iterations), so
        # that the comparison is with the optimum itself.
        model = LogisticRegression(penalty="l2", C=float(c), solver="lbfgs", multi_class="multinomial",
                                   fit_intercept=True, tol=1e-12, max_iter=100000)
        model.fit(x, y)
        blocks.append(model.predict_proba(x))
    np.concatenate(blocks).astype("<f4").tofile(out_path)


if __name__ == "__main__":
    main()
