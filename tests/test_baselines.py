"""course_lib.baselines: k-mer counts, gapped k-mer counts and the PWM scan on sequences worked by hand."""
import numpy as np

from course_lib.baselines import as_indices, gapped_kmer_counts, kmer_counts, pwm_scan


def test_kmer_counts_by_hand():
    X = kmer_counts(as_indices(["ACGT"]), 2).toarray()[0]
    assert X[:4].tolist() == [1, 1, 1, 1]                       # A C G T once each
    two = X[4:]                                                # AC, CG, GT: codes 1, 6, 11
    assert np.flatnonzero(two).tolist() == [1, 6, 11]
    both = kmer_counts(as_indices(["AAAA"]), 1, both_strands=True).toarray()[0]
    assert both.tolist() == [4, 0, 0, 4]                       # the other strand is TTTT


def test_gapped_kmer_counts_ignore_the_base_in_the_gap_and_skip_n():
    a, b = (gapped_kmer_counts(as_indices([s]), half=3, gaps=(1,), both_strands=False).toarray()[0]
            for s in ("TGACTCA", "TGAGTCA"))
    assert a.sum() == 1 and np.array_equal(a, b)               # TGA.TCA is one feature
    assert gapped_kmer_counts(as_indices(["TGANTCA"]), 3, (1,), False).sum() == 1   # N in the gap is fine
    assert gapped_kmer_counts(as_indices(["TGACNCA"]), 3, (1,), False).sum() == 0   # N in a half is skipped
    X = gapped_kmer_counts(as_indices(["ACGTACGTAC"]), half=2, gaps=(0, 2))
    assert X.shape == (1, 2 * 4 ** 4) and X[0, :256].sum() == 2 * 7 and X[0, 256:].sum() == 2 * 5


def test_pwm_scan_finds_the_site_on_either_strand():
    from course_lib.motifs import load_motif
    pwm = load_motif("MA0491.1").pwm()
    site = load_motif("MA0491.1").consensus()
    rc = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
    scores = pwm_scan(as_indices(["A" * 5 + site + "A" * 5, "A" * 5 + rc + "A" * 5, "A" * 21]), pwm)
    assert np.isclose(scores[0], scores[1]) and scores[1] > scores[2] + 5
